"""What can be wrong with an uploaded file itself, as complete Chinese messages.

Every refusal of the reader is an `UnreadableFile` built here, so that the wording (what is
wrong, and how to fix it in Excel) is in one place.
"""
from __future__ import annotations

ACCEPTED_FORMATS = ".xlsx、.xls、.csv"

_MB = 1024 * 1024


class UnreadableFile(Exception):
    """The file itself cannot be read. str(exc) is a complete message in Simplified Chinese
    that says what is wrong and how to fix it."""


def megabytes(size: int) -> str:
    if size < _MB // 10:   # a tiny limit (tests, tight configs) would read "0 MB"
        return f"{round(size / 1024, 1):g} KB"
    return f"{round(size / _MB, 1):g} MB"


def column_letters(number: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def empty_file(label: str) -> UnreadableFile:
    return UnreadableFile(f"{label}是空文件，不是电子表格。请上传 {ACCEPTED_FORMATS} 格式的文件。")


def too_large(label: str, size: int, limit: int) -> UnreadableFile:
    return UnreadableFile(
        f"{label}大小为 {megabytes(size)}，超过了 {megabytes(limit)} 的上限。"
        "请删除无关的工作表、图片和多余的空行后再上传，或拆分成几个文件分批上传。")


def encrypted(label: str) -> UnreadableFile:
    return UnreadableFile(
        f"{label}设置了打开密码（文件已加密），系统无法读取。请在 Excel 中打开它，"
        "在“文件 → 信息 → 保护工作簿 → 用密码进行加密”中删除密码并保存，再重新上传。")


def damaged(label: str) -> UnreadableFile:
    return UnreadableFile(
        f"{label}已损坏或不完整，无法读取。请用 Excel 打开，确认内容完好后另存为 .xlsx 格式，再重新上传。")


def not_a_spreadsheet(label: str, why: str = "不是可识别的电子表格文件") -> UnreadableFile:
    return UnreadableFile(
        f"{label}{why}。系统只接受 {ACCEPTED_FORMATS} 格式；"
        "如果是其他格式的表格，请用 Excel 打开后另存为 .xlsx 再上传。")


def nonstandard(label: str) -> UnreadableFile:
    return UnreadableFile(
        f"{label}的内部结构不是 Excel 保存的标准格式，系统无法安全读取。请用 Excel 打开后另存为 .xlsx 再上传。")


def unsafe_declaration(label: str) -> UnreadableFile:
    return UnreadableFile(
        f"{label}内含不安全的 XML 声明（DOCTYPE/ENTITY），可能是恶意构造的文件，系统拒绝读取。"
        "请用 Excel 打开后另存为 .xlsx 再上传。")


def macros(label: str) -> UnreadableFile:
    return UnreadableFile(
        f"{label}是启用了宏的工作簿（内含 VBA 或宏表），为安全起见系统不读取宏文件。"
        "请在 Excel 中选择“另存为 → Excel 工作簿（*.xlsx）”（不含宏）后再上传。")


def too_many_rows(label: str, max_rows: int) -> UnreadableFile:
    return UnreadableFile(
        f"{label}的行数超过了单次导入 {max_rows} 行的上限。"
        "如果表格下方远处有误填的内容，请删除后再上传；否则请拆分成几个文件分批导入。")


def too_many_columns(label: str, column: str, max_columns: int) -> UnreadableFile:
    return UnreadableFile(
        f"{label}在第 {column} 列有内容，超过了 {max_columns} 列的上限。"
        "如果是误填的内容，请删除这些列后再上传。")


def sparse_sheet(label: str, sheet: str, last_column: int, last_row: int,
                 filled: int) -> UnreadableFile:
    """The used range is absurd for what the sheet holds (a stray cell far away)."""
    area = last_column * last_row
    return UnreadableFile(
        f"{label}的工作表「{sheet}」已用区域为 A1:{column_letters(last_column)}{last_row}"
        f"（约 {max(1, round(area / 10000))} 万个单元格），实际只有 {filled} 个单元格有内容，"
        "多半是远处有误填或残留的内容。请在 Excel 中选中内容下方所有多余的空行和右侧所有多余的空列，"
        f"右键“删除”，保存后再上传（或把需要的内容复制到新工作表）。")


def markup_without_table(label: str) -> UnreadableFile:
    return not_a_spreadsheet(
        label, "的内容是网页或 XML，但其中没有可读取的表格（常见于从其他系统导出的文件）")
