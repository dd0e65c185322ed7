/* Defaults for the widgets FAB's ab.js starts (it runs after this file):
   - the date picker in Chinese, opening at the field's own date;
   - forceParse off: a date the picker cannot read (pasted "2015年3月1日", "2015.3.1") is kept
     as typed when the field loses focus; the server reads it as an import would.
   - select2 in Chinese, with 「请选择…」 as the empty choice. */
(function ($) {
    var lang = (document.documentElement.lang || "zh-CN").indexOf("zh") === 0 ? "zh-CN" : "en";
    if ($.fn.datepicker) {
        $.extend($.fn.datepicker.defaults, {
            language: lang, format: "yyyy-mm-dd", forceParse: false, autoclose: true,
            todayHighlight: true, todayBtn: "linked", clearBtn: true
        });
    }
    if ($.fn.select2 && lang === "zh-CN") {
        $.fn.select2.defaults.set("language", {
            errorLoading: function () { return "无法载入结果，请稍后再试。"; },
            inputTooShort: function (args) { return "请再输入 " + (args.minimum - args.input.length) + " 个字"; },
            loadingMore: function () { return "正在载入更多……"; },
            maximumSelected: function (args) { return "最多只能选择 " + args.maximum + " 项"; },
            noResults: function () { return "没有找到匹配项"; },
            searching: function () { return "正在查找……"; },
            removeAllItems: function () { return "清除全部"; },
            removeItem: function () { return "删除"; }
        });
        $.fn.select2.defaults.set("placeholder", "请选择…");
    }
}(jQuery));

/* ab_filters.js starts a date filter with $.fn.datetimepicker, a plug-in FAB 5 no longer
   ships (a script error on adding the filter): the date picker stands in for it. */
(function ($) {
    if ($.fn.datepicker && !$.fn.datetimepicker) {
        $.fn.datetimepicker = function () {
            var $input = this.is("input") ? this : this.find("input");
            $input.datepicker();
            return this;
        };
    }
}(jQuery));
