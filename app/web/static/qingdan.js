/* qingdan's screens: pickers, the list's selection, confirmations. No inline handlers
   (the Content-Security-Policy allows scripts from this server only). */
(function ($) {
    "use strict";
    var PLACEHOLDER = "请选择…";

    /* select2 draws its own box: it is named by the field's label, as the select was. */
    function labelled($el) {
        var id = $el.attr("id");
        if (!id) {
            return;
        }
        var $label = $("label[for='" + id + "']").first();
        var name = $label.length ? $.trim($label.text()) : ($el.attr("aria-label") || "");
        if (!name) {
            return;
        }
        $("#select2-" + id + "-container").attr("aria-label", name);
        $el.next(".select2").find(".select2-selection").attr("aria-label", name);
    }

    /* Dropdowns of the forms: select2 in Chinese, the empty choice 「请选择…」. */
    function select2Plain($el) {
        if ($el.data("select2")) {
            $el.select2("destroy");
        }
        $el.select2({placeholder: PLACEHOLDER, allowClear: true, theme: "bootstrap",
                     width: "100%"});
        labelled($el);
    }

    /* A parent field (机构, 企业, 保单, 权力): a type-ahead asking the server for at most 20
       matches (app/web/lookups.py), never the whole table. */
    function lookup($el) {
        if ($el.data("qd-lookup-ready")) {
            return;
        }
        $el.data("qd-lookup-ready", true);
        if ($el.data("select2")) {
            $el.select2("destroy");
        }
        $el.select2({
            theme: "bootstrap", width: "100%", allowClear: true, placeholder: PLACEHOLDER,
            minimumInputLength: 0,
            ajax: {
                url: $el.data("url"), dataType: "json", delay: 250, cache: true,
                data: function (params) { return {q: params.term || "", page: params.page || 1}; },
                processResults: function (data) {
                    return {results: data.results, pagination: {more: data.more}};
                }
            }
        });
        labelled($el);
    }

    function startWidgets(root) {
        $(root).find("select.qd-lookup").each(function () { lookup($(this)); });
        $(root).find("select.my_select2").not(".qd-lookup, .filter-op")
            .filter(function () { return !$(this).closest("#filter_form").length; })
            .each(function () { select2Plain($(this)); });
    }

    /* The list's selection: one box for the page, a count on the bulk button. */
    function startSelection() {
        var $all = $("#qd-check-all");
        var $boxes = $("input.qd-row-check");
        var $button = $("#qd-bulk-selected");
        function update() {
            var n = $boxes.filter(":checked").length;
            $button.prop("disabled", n === 0);
            $("#qd-selected-count").text(n);
            $all.prop("checked", n > 0 && n === $boxes.length);
        }
        $all.on("change", function () {
            $boxes.prop("checked", $all.prop("checked"));
            update();
        });
        $boxes.on("change", update);
        update();
    }

    /* <button data-confirm="…"> and <a data-confirm="…">: asked before going on. */
    function startConfirmations() {
        $(document).on("click", "[data-confirm]", function (e) {
            if (!window.confirm($(this).data("confirm"))) {
                e.preventDefault();
                e.stopImmediatePropagation();
                return false;
            }
            return true;
        });
    }

    /* 全选 / 全不选 for a group of checkboxes (the export's columns). */
    function startCheckGroups() {
        $(document).on("click", "[data-check-group]", function (e) {
            e.preventDefault();
            var group = $(this).data("check-group");
            var value = String($(this).data("check-value")) === "1";
            $("input[type=checkbox][data-group='" + group + "']").prop("checked", value);
        });
    }

    /* Elements the page adds later (FAB's filter rows) get their pickers too. */
    function watch(root) {
        if (!root || !window.MutationObserver) {
            return;
        }
        new MutationObserver(function (mutations) {
            mutations.forEach(function (m) {
                $(m.addedNodes).each(function () {
                    if (this.nodeType === 1) {
                        startWidgets(this);
                    }
                });
            });
        }).observe(root, {childList: true, subtree: true});
    }

    $(function () {
        startWidgets(document);
        startSelection();
        startConfirmations();
        startCheckGroups();
        watch(document.getElementById("filter_form"));
        $("[data-print]").on("click", function () { window.print(); });
    });
}(jQuery));
