"""Build the demo data in seed/: one workbook per list, in template form.

    python seed/build.py            # writes seed/<slug>.xlsx for every list

Everything here is FICTIONAL. Companies, agencies, banks and insurers carry "（示例）" in their
names; people are written the way anonymised documents write them (张某甲); credit codes and
ID numbers are checksum-valid but invented; phones are 021-5xxxxxxx / 139xxxxxxxx and e-mail
addresses are @example.cn. The laws, regulations and rules cited are real; the numbers of local
decisions (沪府发〔2015〕46号 …) and of certificates, reports and policies are invented.

The workbooks are written by the application's own exporter (`write_export`) from plain
objects, so they are exactly what an export of these records would look like, and
`app/seeding.py` loads them through the import engine like any upload. The build is
deterministic, to the byte: a fixed random seed, no date that depends on the day it runs, and
the workbooks' own timestamps pinned, so that rebuilding rewrites no file whose data did not
change.

Demo data is optional per list: `records()` gives it for the lists it knows, and a list it
does not know (a new one) simply has no seed file and starts empty.
"""
from __future__ import annotations

import datetime as dt
import io
import random
import sys
import zipfile
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import flask_appbuilder.security.sqla.models  # noqa: E402,F401  (User: the models refer to it)
from openpyxl.packaging.core import DocumentProperties  # noqa: E402
from openpyxl.xml.functions import fromstring, tostring  # noqa: E402
from stdnum.cn import ric, uscc  # noqa: E402

import app.lists  # noqa: E402,F401  (registers every Sheet)
from app.lists import agencies as ag  # noqa: E402
from app.settings import DEFAULTS  # noqa: E402
from app.sheets.declare import Sheet, sheets  # noqa: E402
from app.sheets.writer import write_export  # noqa: E402

SEED = 20151201
STAMP = dt.datetime(2015, 12, 1)  # every workbook's creation, modification and zip entry time
CORE_PROPERTIES = "docProps/core.xml"
D = dt.date
VERSION = "2015版"
BUREAU = "上海市安全生产监督管理局"
DISTRICTS: list[str] = list(DEFAULTS["DISTRICTS"])
SPECIALITIES: list[str] = list(DEFAULTS["EXPERT_SPECIALITIES"])
DISTRICT_CODES = {
    "黄浦区": "310101", "徐汇区": "310104", "长宁区": "310105", "静安区": "310106",
    "普陀区": "310107", "虹口区": "310109", "杨浦区": "310110", "闵行区": "310112",
    "宝山区": "310113", "嘉定区": "310114", "浦东新区": "310115", "金山区": "310116",
    "松江区": "310117", "青浦区": "310118", "奉贤区": "310120", "崇明区": "310151",
}
ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # the characters a credit code may use


def W(n: int) -> Decimal:
    """n 万元 in 元."""
    return Decimal(n) * 10000


# ---------------------------------------------------------------------------- identities
class Maker:
    """Invented but checksum-valid identifiers, phone numbers and placeholder names."""

    SURNAMES = "张王李赵刘陈杨黄周吴徐孙朱马胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡"
    GIVEN = "甲乙丙丁戊己庚辛壬癸"

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.codes: set[str] = set()
        self.ids: set[str] = set()
        self.phones: set[str] = set()
        self.names: set[str] = set()
        self.accounts: set[str] = set()

    def credit_code(self, kind: str, district: str | None) -> str:
        """A 统一社会信用代码: kind "91" (company) or "12" (public institution)."""
        region = DISTRICT_CODES.get(district or "", "310000")
        while True:
            if kind == "91":  # codes given since 2015 start with MA
                org8 = "MA1" + "".join(self.rng.choice(ORG_ALPHABET) for _ in range(5))
            else:
                org8 = "4" + "".join(self.rng.choice("0123456789") for _ in range(7))
            code17 = kind + region + org8 + self._org_check(org8)
            code = code17 + uscc.calc_check_digit(code17)
            if code not in self.codes:
                self.codes.add(code)
                return code

    @staticmethod
    def _org_check(org8: str) -> str:
        """The check character of an organisation code (GB 11714)."""
        weights = (3, 7, 9, 10, 5, 8, 4, 2)
        values = [int(c) if c.isdigit() else ord(c) - 55 for c in org8]
        c9 = 11 - sum(v * w for v, w in zip(values, weights)) % 11
        return {10: "X", 11: "0"}.get(c9, str(c9))

    def id_number(self, area: str, born: dt.date, gender: str) -> str:
        while True:
            seq = self.rng.randint(0, 99)
            last = self.rng.choice("13579" if gender == "男" else "02468")
            id17 = f"{area}{born:%Y%m%d}{seq:02d}{last}"
            number = id17 + ric.calc_check_digit(id17 + "0")
            if number not in self.ids:
                self.ids.add(number)
                return number

    def mobile(self) -> str:
        while True:
            number = "139" + "".join(self.rng.choice("0123456789") for _ in range(8))
            if number not in self.phones:
                self.phones.add(number)
                return number

    def landline(self) -> str:
        while True:
            number = "021-5" + "".join(self.rng.choice("0123456789") for _ in range(7))
            if number not in self.phones:
                self.phones.add(number)
                return number

    def person(self) -> str:
        """A placeholder name as anonymised documents write them: 张某甲."""
        while True:
            name = (self.rng.choice(self.SURNAMES) + "某" + self.rng.choice(self.GIVEN))
            if name not in self.names:
                self.names.add(name)
                return name

    def account(self) -> str:
        while True:
            length = self.rng.choice((16, 17, 19, 21))
            number = self.rng.choice("3456789") + "".join(
                self.rng.choice("0123456789") for _ in range(length - 1))
            if number not in self.accounts:
                self.accounts.add(number)
                return number


def ns(sheet: Sheet, **values) -> SimpleNamespace:
    """A plain object carrying what `write_export` reads for `sheet` (missing fields: None)."""
    known = {c.relation or c.field for c in sheet.columns}
    unknown = set(values) - known
    if unknown:
        raise KeyError(f"{sheet.slug}: no column for {sorted(unknown)}")
    return SimpleNamespace(**{name: values.get(name) for name in known})


# ---------------------------------------------------------------------------- 权责清单
LAW_SAFETY = "《中华人民共和国安全生产法》"
LAW_LICENSING = "《中华人民共和国行政许可法》"
LAW_PENALTY = "《中华人民共和国行政处罚法》"
LAW_COERCION = "《中华人民共和国行政强制法》"
HAZCHEM_REGS = "《危险化学品安全管理条例》（国务院令第591号）"
PUNISH_REGS = "《行政机关公务员处分条例》（国务院令第495号）"

UNIT_HAZCHEM = "监督管理一处（危险化学品安全监督管理处）"
UNIT_TRAINING = "宣传教育培训处"
UNIT_LAW = "政策法规处"
UNIT_INDUSTRY = "监督管理三处（工贸行业安全监督管理处）"
UNIT_AGENCY = "规划科技处"
UNIT_ENFORCE = "上海市安全生产执法监察总队"
UNIT_WINDOW = "行政服务中心窗口"

LICENSING_PROCEDURE = (
    "1. 申请：申请人通过网上政务大厅或行政服务中心窗口提交申请材料；\n"
    "2. 受理：材料齐全、符合法定形式的当场受理，材料不齐全的一次性告知需要补正的全部内容；\n"
    "3. 审查：对申请材料进行书面审查，需要现场核查的组织专家或者工作人员现场核查；\n"
    "4. 决定：在法定期限内作出准予许可或者不予许可的书面决定，不予许可的说明理由；\n"
    "5. 送达：准予许可的颁发证件并公开许可结果。")
PENALTY_PROCEDURE = (
    "1. 立案：对检查发现、举报投诉、移送等线索进行初步审查，符合立案条件的报批立案；\n"
    "2. 调查取证：两名以上执法人员出示证件，全面、客观、公正地调查收集证据；\n"
    "3. 审理：案件承办机构提出处理意见，法制机构进行合法性审核，重大案件集体讨论；\n"
    "4. 告知：作出处罚决定前告知当事人拟处罚的事实、理由、依据及陈述、申辩和听证的权利；\n"
    "5. 决定：根据审理意见和当事人陈述申辩情况作出行政处罚决定；\n"
    "6. 送达：在法定期限内将行政处罚决定书送达当事人；\n"
    "7. 执行：监督当事人履行处罚决定，逾期不履行的依法申请人民法院强制执行。")

LICENSING_POWERS = [
    dict(code="31AJ01001-01", name="危险化学品经营许可证核发",
         sub_item="带有储存设施的危险化学品经营许可（首次申请）", unit=UNIT_HAZCHEM,
         levels="市级", legal="30个工作日", promised="15个工作日",
         basis=(f"【行政法规】{HAZCHEM_REGS}第三十三条第一款：国家对危险化学品经营（包括仓储经营）实行许可制度。"
                "未经许可，任何单位和个人不得经营危险化学品。\n"
                f"【行政法规】{HAZCHEM_REGS}第三十五条第一款：从事剧毒化学品、易制爆危险化学品经营的企业，"
                "应当向所在地设区的市级人民政府安全生产监督管理部门提出申请，从事其他危险化学品经营的企业，"
                "应当向所在地县级人民政府安全生产监督管理部门提出申请（有储存设施的，应当向所在地设区的市级"
                "人民政府安全生产监督管理部门提出申请）。\n"
                "【部门规章】《危险化学品经营许可证管理办法》（国家安全生产监督管理总局令第55号）第三条"),
         content="对本市行政区域内带有储存设施的危险化学品经营企业（含仓储经营）的经营条件进行审查，"
                 "核发《危险化学品经营许可证》。",
         objects="企业法人、非法人企业", effective=D(2015, 6, 30)),
    dict(code="31AJ01001-02", name="危险化学品经营许可证核发", sub_item="危险化学品经营许可证延期换证",
         unit=UNIT_HAZCHEM, levels="市级", legal="20个工作日", promised="10个工作日",
         basis=(f"【行政法规】{HAZCHEM_REGS}第三十八条\n"
                "【部门规章】《危险化学品经营许可证管理办法》（国家安全生产监督管理总局令第55号）第二十条："
                "经营许可证的有效期为3年。有效期满后，需要继续从事危险化学品经营活动的，应当在经营许可证"
                "有效期满3个月前，向本办法第五条规定的发证机关提出经营许可证的延期申请。"),
         content="对有效期满需继续经营的危险化学品经营企业办理许可证延期换证。",
         objects="企业法人、非法人企业", effective=D(2015, 6, 30)),
    dict(code="31AJ01001-03", name="危险化学品经营许可证核发",
         sub_item="不带有储存设施的危险化学品经营许可", unit=UNIT_HAZCHEM, levels="市级、区县级",
         source="法定本级行使", legal="30个工作日", promised="15个工作日",
         basis=(f"【行政法规】{HAZCHEM_REGS}第三十五条第一款\n"
                "【部门规章】《危险化学品经营许可证管理办法》（国家安全生产监督管理总局令第55号）第五条"),
         content="对不带有储存设施的危险化学品经营企业（票据经营）的经营条件进行审查，核发许可证。",
         objects="企业法人、非法人企业", status="已下放", effective=D(2015, 6, 30),
         remark="根据沪府发〔2015〕46号，自2015年10月1日起由各区安全生产监督管理部门实施；"
                "浦东新区自2014年起先行承接。"),
    dict(code="31AJ01002", name="危险化学品安全使用许可证核发", unit=UNIT_HAZCHEM, levels="市级",
         legal="45日", promised="30个工作日",
         basis=(f"【行政法规】{HAZCHEM_REGS}第二十九条第一款：使用危险化学品从事生产并且使用量达到规定数量的"
                "化工企业（属于危险化学品生产企业的除外），应当依照本条例的规定取得危险化学品安全使用许可证。\n"
                "【部门规章】《危险化学品安全使用许可证实施办法》（国家安全生产监督管理总局令第57号）第三条"),
         content="对使用危险化学品从事生产且使用量达到规定数量的化工企业的安全条件进行审查，"
                 "核发《危险化学品安全使用许可证》。",
         objects="企业法人", effective=D(2015, 6, 30)),
    dict(code="31AJ01003", name="特种作业操作证核发", unit=UNIT_TRAINING, levels="市级",
         legal="20个工作日", promised="10个工作日",
         basis=(f"【法律】{LAW_SAFETY}第二十七条第一款：生产经营单位的特种作业人员必须按照国家有关规定"
                "经专门的安全作业培训，取得相应资格，方可上岗作业。\n"
                "【部门规章】《特种作业人员安全技术培训考核管理规定》（国家安全生产监督管理总局令第30号）第五条"),
         content="对考核合格的特种作业人员（电工、焊接与热切割、高处作业等作业类别）核发特种作业操作证。",
         objects="自然人", charged=True,
         charge_basis="《关于本市特种作业人员安全技术考核收费有关事项的通知》（沪价费〔2013〕9号，示例）",
         charge_standard="理论考试每人次50元；实际操作考试每人次120元",
         effective=D(2015, 6, 30)),
    dict(code="31AJ01004", name="生产经营单位主要负责人和安全生产管理人员安全资格证核发",
         unit=UNIT_TRAINING, levels="市级", legal="20个工作日", promised="10个工作日",
         basis=("【法律】《中华人民共和国安全生产法》（2002年）第二十条第二款\n"
                "【部门规章】《生产经营单位安全培训规定》（国家安全生产监督管理总局令第3号）"),
         content="对危险物品的生产、经营、储存单位以及矿山、建筑施工单位的主要负责人和安全生产管理人员"
                 "考核合格后核发安全资格证书。",
         objects="自然人", status="已取消", effective=D(2010, 7, 1), cancelled=D(2015, 7, 1),
         remark="2014年修正的《安全生产法》第二十四条改为考核合格，不再发证；依据沪府发〔2015〕28号取消。"),
]
OTHER_POWERS = [
    dict(code="31AJ10001", category="其他行政权力",
         name="第二类、第三类非药品类易制毒化学品经营备案", unit=UNIT_HAZCHEM, levels="市级、区县级",
         legal="即办", promised="即办",
         basis=("【行政法规】《易制毒化学品管理条例》（国务院令第445号）第十三条：经营第二类易制毒化学品的，"
                "应当自经营之日起30日内，将经营的品种、数量、主要流向等情况，向所在地的设区的市级人民政府"
                "安全生产监督管理部门备案；经营第三类易制毒化学品的，应当自经营之日起30日内，将经营的品种、"
                "数量、主要流向等情况，向所在地的县级人民政府安全生产监督管理部门备案。\n"
                "【部门规章】《非药品类易制毒化学品生产、经营许可办法》（国家安全生产监督管理总局令第5号）"
                "第二十四条"),
         procedure="1. 提交：经营单位提交备案申请表及相关材料；\n2. 核对：窗口核对材料是否齐全；\n"
                   "3. 备案：材料齐全的当场发给备案证明。",
         content="对经营第二类、第三类非药品类易制毒化学品的单位办理经营备案。",
         objects="企业法人、非法人企业", effective=D(2015, 6, 30)),
]
PENALTY_POWERS = [
    dict(code="31AJ02001",
         name="对生产经营单位未按照规定设置安全生产管理机构或者配备安全生产管理人员等行为的处罚",
         unit=UNIT_ENFORCE,
         basis=(f"【法律】{LAW_SAFETY}第九十四条：生产经营单位有下列行为之一的，责令限期改正，"
                "可以处五万元以下的罚款；逾期未改正的，责令停产停业整顿，并处五万元以上十万元以下的罚款，"
                "对其直接负责的主管人员和其他直接责任人员处一万元以上二万元以下的罚款：（一）未按照规定设置"
                "安全生产管理机构或者配备安全生产管理人员的；……\n"
                f"【法律】{LAW_PENALTY}第三条"),
         content="对生产经营单位未按照规定设置安全生产管理机构或者配备安全生产管理人员、"
                 "未如实记录安全生产教育和培训情况等行为给予警告、罚款、责令停产停业整顿等行政处罚。"),
    dict(code="31AJ02002",
         name="对生产经营单位安全设备的安装、使用、检测、改造和报废不符合国家标准或者行业标准等行为的处罚",
         unit=UNIT_ENFORCE,
         basis=(f"【法律】{LAW_SAFETY}第九十六条：生产经营单位有下列行为之一的，责令限期改正，"
                "可以处五万元以下的罚款；逾期未改正的，处五万元以上二十万元以下的罚款……"
                "（二）安全设备的安装、使用、检测、改造和报废不符合国家标准或者行业标准的；……"),
         content="对生产经营单位未设置安全警示标志、安全设备不符合国家标准或者行业标准、"
                 "未对安全设备进行经常性维护保养和定期检测等行为给予行政处罚。"),
    dict(code="31AJ02003",
         name="对生产、经营、储存、使用危险物品未建立专门安全管理制度、未采取可靠的安全措施等行为的处罚",
         unit=UNIT_ENFORCE,
         basis=(f"【法律】{LAW_SAFETY}第九十八条：生产经营单位有下列行为之一的，责令限期改正，"
                "可以处十万元以下的罚款；逾期未改正的，责令停产停业整顿，并处十万元以上二十万元以下的罚款……"
                "（一）生产、经营、运输、储存、使用危险物品或者处置废弃危险物品，未建立专门安全管理制度、"
                "未采取可靠的安全措施的；（二）对重大危险源未登记建档，或者未进行评估、监控，"
                "或者未制定应急预案的；……\n"
                f"【行政法规】{HAZCHEM_REGS}第八十条"),
         content="对危险物品的生产、经营、储存、使用单位未建立专门安全管理制度、未采取可靠的安全措施，"
                 "重大危险源未登记建档等行为给予行政处罚。"),
    dict(code="31AJ02004", name="对承担安全评价、认证、检测、检验工作的机构出具虚假证明的处罚",
         unit=UNIT_ENFORCE,
         basis=(f"【法律】{LAW_SAFETY}第八十九条：承担安全评价、认证、检测、检验工作的机构，"
                "出具虚假证明的，没收违法所得；违法所得在十万元以上的，并处违法所得二倍以上五倍以下的罚款；"
                "没有违法所得或者违法所得不足十万元的，单处或者并处十万元以上二十万元以下的罚款……\n"
                "【部门规章】《安全评价机构管理规定》（国家安全生产监督管理总局令第22号）第四十条"),
         content="对出具虚假证明的安全评价、检测检验机构没收违法所得、罚款，"
                 "并依法撤销其相应资格。"),
]
ENFORCEMENT_POWERS = [
    dict(code="31AJ03001", category="行政强制",
         name="对不符合保障安全生产的国家标准或者行业标准的设施、设备、器材以及违法生产、储存、使用、"
              "经营、运输的危险物品予以查封或者扣押",
         unit=UNIT_ENFORCE, legal="30日", promised="30日",
         basis=(f"【法律】{LAW_SAFETY}第六十二条第一款第（四）项\n"
                f"【法律】{LAW_COERCION}第二十二条、第二十三条、第二十四条、第二十五条"),
         procedure="1. 审批：实施前向行政机关负责人报告并经批准；\n"
                   "2. 实施：两名以上执法人员实施，通知当事人到场，当场告知理由、依据和救济途径；\n"
                   "3. 制作文书：制作现场笔录和查封扣押决定书、清单，当场交付当事人；\n"
                   "4. 处理：在30日内查清事实，作出处理决定，及时解除不再需要查封扣押的物品。",
         content="对有根据认为不符合保障安全生产的国家标准或者行业标准的设施、设备、器材以及违法生产、"
                 "储存、使用、经营、运输的危险物品予以查封或者扣押。",
         objects="企业法人、非法人企业、其他组织"),
    dict(code="31AJ06001", category="行政检查",
         name="对生产经营单位执行安全生产法律、法规和国家标准或者行业标准情况的监督检查",
         unit=UNIT_ENFORCE, levels="市级、区县级",
         basis=(f"【法律】{LAW_SAFETY}第五十九条、第六十二条第一款\n"
                "【地方性法规】《上海市安全生产条例》第四十二条"),
         procedure="1. 制定年度监督检查计划并报本级人民政府批准；\n"
                   "2. 检查：出示执法证件，进入生产经营单位检查，调阅资料，了解情况；\n"
                   "3. 处理：当场纠正或者责令限期改正，发现重大事故隐患的责令排除；\n"
                   "4. 记录：如实记录检查的时间、地点、内容、发现的问题及其处理情况。",
         content="依照年度监督检查计划对生产经营单位执行安全生产法律、法规和国家标准或者行业标准的"
                 "情况进行监督检查。",
         objects="企业法人、非法人企业、事业法人"),
    dict(code="31AJ06002", category="行政检查", name="对安全生产技术服务机构的监督检查",
         unit=UNIT_AGENCY,
         basis=("【部门规章】《安全评价机构管理规定》（国家安全生产监督管理总局令第22号）第二十七条\n"
                "【部门规章】《职业卫生技术服务机构监督管理暂行办法》（国家安全生产监督管理总局令第50号）"
                "第三十一条"),
         procedure="1. 抽取：从技术服务机构出具的报告中随机抽取并组织专家盲审；\n"
                   "2. 核查：对盲审发现问题的项目进行现场核查；\n"
                   "3. 处理：根据盲审和核查结果采取通报、警示约谈、责令整改或者移送处罚；\n"
                   "4. 公开：按批次向社会公布盲审结果。",
         content="对安全评价机构、职业卫生技术服务机构的执业活动及出具的报告进行监督检查，"
                 "组织报告盲审和现场核查。",
         objects="企业法人、事业法人"),
    dict(code="31AJ08001", category="行政奖励",
         name="对报告重大事故隐患或者举报安全生产违法行为的有功人员给予奖励",
         unit=UNIT_LAW, levels="市级、区县级", legal="60日", promised="30个工作日",
         basis=(f"【法律】{LAW_SAFETY}第七十三条：县级以上各级人民政府及其有关部门对报告重大事故隐患"
                "或者举报安全生产违法行为的有功人员，给予奖励。\n"
                "【规范性文件】《安全生产举报奖励办法》（安监总财〔2012〕63号）"),
         procedure="1. 核查：对举报事项进行核查；\n2. 认定：经查属实的，认定举报人的奖励等级；\n"
                   "3. 决定：报局领导审批奖励金额；\n4. 发放：通知举报人领取奖金，并为举报人保密。",
         content="对报告重大事故隐患或者举报安全生产违法行为、经查证属实的有功人员给予奖金奖励。",
         objects="自然人、其他组织"),
]

LICENSING_DUTIES = [
    ("受理", UNIT_WINDOW,
     "1. 公示依法应当提交的材料；\n2. 一次性告知补正材料；\n"
     "3. 依法受理或者不予受理申请（不予受理的应当告知理由）。",
     "1. 对符合法定条件的申请不予受理的；\n2. 不在办公场所公示依法应当提交的材料的；\n"
     "3. 申请人提交的申请材料不齐全、不符合法定形式，不一次告知申请人必须补正的全部内容的。",
     f"【法律】{LAW_LICENSING}第七十二条\n【行政法规】{PUNISH_REGS}第二十一条"),
    ("审查", None,
     "1. 对申请材料进行审查，提出审查意见；\n2. 需要现场核查的，组织专家或者工作人员进行现场核查。",
     "1. 对不符合法定条件的申请人准予许可或者超越法定职权作出准予许可决定的；\n"
     "2. 在审查过程中索取或者收受他人财物或者谋取其他利益的。",
     f"【法律】{LAW_LICENSING}第七十四条、第七十五条\n【法律】{LAW_SAFETY}第八十七条"),
    ("决定", None,
     "作出准予许可或者不予许可的决定；不予许可的，书面说明理由并告知申请人享有依法申请行政复议"
     "或者提起行政诉讼的权利。",
     "1. 对符合法定条件的申请人不予许可或者不在法定期限内作出准予许可决定的；\n"
     "2. 不予许可未说明理由的。",
     f"【法律】{LAW_LICENSING}第七十二条、第七十四条\n【行政法规】{PUNISH_REGS}第二十一条"),
    ("送达", UNIT_WINDOW,
     "准予许可的，在法定期限内向申请人颁发、送达许可证件，并依法公开许可结果。",
     "1. 未在法定期限内颁发、送达许可证件的；\n2. 应当公开而未公开许可结果的。",
     f"【法律】{LAW_LICENSING}第四十四条、第七十二条"),
    ("事后监管", None,
     "对被许可人从事行政许可事项的活动进行监督检查，发现违法行为依法处理。",
     "1. 不依法履行监督职责或者监督不力，造成严重后果的；\n"
     "2. 发现被许可人不再具备安全生产条件而不撤销原许可的。",
     f"【法律】{LAW_LICENSING}第七十七条\n【法律】{LAW_SAFETY}第八十七条"),
]
PENALTY_DUTIES = [
    ("立案", "对监督检查发现、举报投诉、有关部门移送的违法线索进行审查，决定是否立案。",
     "1. 对应当立案的案件不予立案的；\n2. 违反规定擅自立案、徇私枉法的。",
     f"【法律】{LAW_PENALTY}第五十五条\n【法律】{LAW_SAFETY}第八十七条"),
    ("调查取证", "两名以上执法人员出示执法证件，全面、客观、公正地调查，收集有关证据；"
               "必要时依法进行检查、先行登记保存证据。",
     "1. 执法人员少于两人或者未出示执法证件的；\n2. 违法收集证据、隐匿或者毁损证据的；\n"
     "3. 应当回避而未回避的。",
     f"【法律】{LAW_PENALTY}第五十五条、第六十二条\n【行政法规】{PUNISH_REGS}第二十一条"),
    ("审理", "对案件的违法事实、证据、调查程序、法律适用、处罚种类和幅度等进行审理，"
           "提出处理意见；重大案件由负责人集体讨论决定。",
     "1. 违法事实不清、证据不足即作出处理意见的；\n2. 应当集体讨论而未集体讨论的。",
     f"【法律】{LAW_PENALTY}第五十五条"),
    ("告知", "作出行政处罚决定前，书面告知当事人拟作出处罚的事实、理由、依据，"
           "以及依法享有的陈述、申辩和要求听证的权利。",
     "1. 未履行告知义务的；\n2. 拒绝听取当事人陈述、申辩的。",
     f"【法律】{LAW_PENALTY}第四十一条、第五十五条"),
    ("决定", "根据审理结果和当事人陈述申辩、听证情况，作出给予处罚或者不予处罚的决定，"
           "制作行政处罚决定书。",
     "1. 没有法定依据或者不遵守法定程序实施处罚的；\n2. 擅自改变处罚种类、幅度的；\n"
     "3. 应当依法移送司法机关追究刑事责任而不移送的。",
     f"【法律】{LAW_PENALTY}第五十五条、第六十一条\n【法律】{LAW_SAFETY}第八十七条"),
    ("送达", "行政处罚决定书应当在宣告后当场交付当事人；当事人不在场的，在七日内依照民事诉讼法"
           "的有关规定送达。",
     "未依法送达行政处罚决定书，致使当事人合法权益受到损害的。",
     f"【法律】{LAW_PENALTY}第四十条、第五十五条"),
    ("执行", "监督当事人在规定期限内履行处罚决定；当事人逾期不履行的，依法加处罚款或者申请"
           "人民法院强制执行。",
     "1. 罚款、没收违法所得不使用法定单据的；\n2. 截留、私分或者变相私分罚款、没收的违法所得的。",
     f"【法律】{LAW_PENALTY}第五十六条、第五十七条、第五十八条"),
]


def build_powers(mk: Maker) -> tuple[list, list, dict]:
    sheet = sheets["powers"]
    consult = {u: mk.landline() for u in (UNIT_HAZCHEM, UNIT_TRAINING, UNIT_LAW, UNIT_AGENCY,
                                          UNIT_ENFORCE)}
    supervise = mk.landline()
    powers, duties, by_code = [], [], {}

    def power(p: dict, category: str, procedure: str, objects: str) -> SimpleNamespace:
        obj = ns(sheet, list_version=VERSION, code=p["code"], category=p.get("category", category),
                 name=p["name"], sub_item=p.get("sub_item"), implementing_body=BUREAU,
                 handling_unit=p["unit"], levels=p.get("levels", "市级"),
                 source=p.get("source", "法定本级行使"), legal_time_limit=p.get("legal"),
                 promised_time_limit=p.get("promised"), legal_basis=p["basis"],
                 procedure=p.get("procedure", procedure), content=p["content"],
                 objects=p.get("objects", objects), charged=p.get("charged", False),
                 charge_basis=p.get("charge_basis"), charge_standard=p.get("charge_standard"),
                 consult_phone=consult.get(p["unit"], consult[UNIT_ENFORCE]),
                 supervise_phone=supervise, status=p.get("status", "在用"),
                 effective_on=p.get("effective", D(2015, 6, 30)), cancelled_on=p.get("cancelled"),
                 remark=p.get("remark"))
        powers.append(obj)
        by_code[obj.code] = obj
        return obj

    duty_sheet = sheets["responsibilities"]
    for p in LICENSING_POWERS:
        obj = power(p, "行政许可", LICENSING_PROCEDURE, "企业法人")
        for stage, unit, matter, cases, basis in LICENSING_DUTIES:
            duties.append(ns(duty_sheet, power=obj, stage=stage, seq=1, matter=matter,
                             responsible_unit=unit or p["unit"], accountability_cases=cases,
                             accountability_basis=basis))
        if p["code"] == "31AJ01002":  # a stage with two duties: the expert site check
            duties.append(ns(
                duty_sheet, power=obj, stage="审查", seq=2,
                matter="组织安全生产专家对申请人的安全设施、安全管理制度和应急救援条件进行现场核查，"
                       "形成现场核查意见。",
                responsible_unit=p["unit"],
                accountability_cases="1. 未按规定组织现场核查即作出审查意见的；\n"
                                     "2. 现场核查意见与实际情况严重不符的。",
                accountability_basis=f"【法律】{LAW_LICENSING}第七十四条\n【法律】{LAW_SAFETY}第八十七条"))
    for p in OTHER_POWERS:
        power(p, "其他行政权力", "", "企业法人")
    for p in PENALTY_POWERS:
        obj = power(p, "行政处罚", PENALTY_PROCEDURE, "企业法人、非法人企业、其他组织")
        for stage, matter, cases, basis in PENALTY_DUTIES:
            duties.append(ns(duty_sheet, power=obj, stage=stage, seq=1, matter=matter,
                             responsible_unit=UNIT_LAW if stage == "审理" else p["unit"],
                             accountability_cases=cases, accountability_basis=basis))
    for p in ENFORCEMENT_POWERS:
        power(p, "", "", "企业法人")
    powers.sort(key=lambda o: o.code)
    return powers, duties, by_code


def build_reforms(by_code: dict) -> list:
    sheet = sheets["reforms"]
    others = [d for d in DISTRICTS if d != "浦东新区"]
    rows = [
        ("31AJ01001-03", "下放", "沪府发〔2014〕7号", D(2014, 1, 20), D(2014, 3, 1), "浦东新区",
         "浦东新区安全生产监督管理部门承接后按季度报送许可信息；市安全监管局每年组织一次抽查。"),
        ("31AJ01001-03", "下放", "沪府发〔2015〕46号", D(2015, 8, 12), D(2015, 10, 1),
         "、".join(others),
         "1. 建立许可信息共享机制，各区每月报送发证情况；\n2. 市安全监管局制定统一的审查标准和文书格式；\n"
         "3. 每年对各区许可工作开展一次专项检查。"),
        ("31AJ01004", "取消", "沪府发〔2015〕28号", D(2015, 5, 25), D(2015, 7, 1), None,
         "改为对主要负责人和安全生产管理人员进行安全生产知识和管理能力考核，考核合格的不再发证；"
         "在监督检查中核查考核情况。"),
        ("31AJ10001", "改为备案", "沪府发〔2014〕52号", D(2014, 11, 3), D(2015, 1, 1), None,
         "1. 经营单位自经营之日起30日内备案；\n2. 将备案单位纳入日常监督检查范围，发现未备案经营的依法处理。"),
        ("31AJ01002", "调整", "沪府办发〔2016〕15号", D(2016, 3, 18), D(2016, 5, 1), None,
         "承诺办理时限由45日压缩为30个工作日，取消申请材料中的安全评价机构资质证书复印件。"),
        ("31AJ01003", "调整", "沪安监规〔2016〕3号", D(2016, 6, 6), D(2016, 7, 1), None,
         "理论考试实行计算机考试，考试点由市统一设置；考核与发证分离，发证环节即办。"),
        ("2008-0107", "取消", "沪府发〔2014〕7号", D(2014, 1, 20), D(2014, 3, 1), None,
         "取消“安全生产检测检验机构资质初审”，由国家安全生产监督管理总局直接受理；"
         "本市加强对检测检验机构执业活动的日常监督。"),
        ("2008-0112", "合并", "沪府发〔2016〕32号", D(2016, 9, 9), D(2016, 11, 1), None,
         "与“危险化学品建设项目安全设施设计审查”合并为“危险化学品建设项目安全审查”，一次申请、一并审查。"),
        ("2008-0115", "承接", "沪府发〔2016〕32号", D(2016, 9, 9), D(2016, 11, 1), "浦东新区、闵行区",
         "承接国家下放的“非煤矿山企业安全生产许可证核发（地质勘探单位）”，由市局统一制定审查细则。"),
    ]
    names = {"2008-0107": "安全生产检测检验机构资质初审",
             "2008-0112": "危险化学品建设项目安全条件审查",
             "2008-0115": "非煤矿山企业安全生产许可证核发（地质勘探单位）"}
    out = []
    for code, kind, doc, decided, effective, to, measures in rows:
        p = by_code.get(code)
        name = names.get(code) or (f"{p.name}（{p.sub_item}）" if p.sub_item else p.name)
        out.append(ns(sheet, power_code=code, item_name=name, change_type=kind, decision_no=doc,
                      decided_on=decided, effective_on=effective, delegated_to=to,
                      supervision_measures=measures))
    return out


# ---------------------------------------------------------------------------- 专家库
EMPLOYERS = [  # (工作单位, 单位性质, 职务 choices)
    ("上海示例化工研究院有限公司（示例）", "企业", ("总工程师", "安全总监", "副院长")),
    ("华东示例理工大学（示例）", "高等院校", ("安全工程系主任", "研究所所长", "教研室主任")),
    ("上海示例石化股份有限公司（示例）", "企业", ("安全环保部经理", "副总工程师", "HSE总监")),
    ("上海市示例安全生产科学研究所（示例）", "科研院所", ("副所长", "研究室主任", "课题组长")),
    ("上海示例安全技术咨询有限公司（示例）", "技术服务机构", ("技术负责人", "评价部经理")),
    ("上海市示例区安全生产监督管理局（示例）", "党政机关", ("副局长", "科长")),
    ("上海市示例安全生产协会（示例）", "行业协会", ("秘书长", "副秘书长")),
    ("上海示例钢铁有限公司（示例）", "企业", ("安全部部长", "设备总工程师")),
    ("上海示例消防技术研究所（示例）", "科研院所", ("研究室主任", "副所长")),
    ("上海示例化工研究院有限公司（示例，已退休）", "离退休", ()),
]
SPECIAL_EMPLOYERS = {  # specialities with employers of their own
    "职业卫生": ("上海市示例职业病防治院（示例）", "事业单位", ("副院长", "职业卫生科主任")),
    "法律法规": ("上海示例律师事务所（示例）", None, ("合伙人", "律师")),
    "特种设备": ("上海示例特种设备检测研究院（示例）", "事业单位", ("检验部部长", "副总工程师")),
    "建筑施工": ("上海示例建工集团有限公司（示例）", "企业", ("安全总监", "质量安全部经理")),
    "交通运输": ("上海示例港务集团有限公司（示例）", "企业", ("安全监督部经理", "副总经理")),
}
TITLES = {  # 单位性质 -> titles of 正高级, 副高级, 中级
    "高等院校": ("教授", "副教授", "讲师"),
    "科研院所": ("研究员", "副研究员", "助理研究员"),
    "医疗卫生": ("主任医师", "副主任医师", "主治医师"),
    "律师": ("一级律师", "二级律师", "三级律师"),
    None: ("教授级高级工程师", "高级工程师", "工程师"),
}
TITLE_LEVELS = ("正高级", "副高级", "中级")
ID_AREAS = ["310104", "310105", "310106", "310107", "310109", "310110", "310112", "310113",
            "310115", "320102", "320582", "330106", "340104", "370202", "420106", "610113"]


def build_experts(mk: Maker) -> list:
    rng = mk.rng
    sheet = sheets["experts"]
    roles = ["主任委员", "副主任委员", "副主任委员"] + ["委员"] * 9
    specialities = (SPECIALITIES + ["危险化学品", "石油化工", "职业卫生", "安全评价", "消防",
                                    "特种设备", "建筑施工", "应急救援", "事故调查", "安全管理",
                                    "冶金", "电气", "危险化学品", "职业卫生"])[:36]
    terms = ([(D(2015, 3, 1), D(2018, 2, 28))] * 24 + [(D(2018, 3, 1), D(2021, 2, 28))] * 4
             + [(D(2021, 3, 1), D(2024, 2, 29))] * 3 + [(D(2024, 3, 1), D(2027, 2, 28))] * 5)
    statuses = ["在聘"] * 36
    statuses[7], statuses[13], statuses[29] = "暂停", "届满未续聘", "终止"
    out = []
    for i, speciality in enumerate(specialities):
        appointed, ends = terms[i]
        gender = "男" if rng.random() < 0.72 else "女"
        # committee members are senior; those first appointed later are younger
        first, last = ((1950, 1964) if i < len(roles) else
                       (1966, 1984) if appointed.year > 2015 else (1955, 1982))
        born = D(first, 1, 1) + dt.timedelta(days=rng.randint(0, (last - first) * 365))
        number = mk.id_number(rng.choice(ID_AREAS), born, gender)
        age = appointed.year - born.year
        if i < 3 or (age >= 50 and rng.random() < 0.6):
            level = "正高级"
        elif age >= 36:
            level = rng.choice(("副高级", "副高级", "副高级", "中级"))
        else:
            level = "中级"
        employer, employer_type, positions = SPECIAL_EMPLOYERS.get(
            speciality, EMPLOYERS[(i * 7 + 3) % len(EMPLOYERS)])
        if employer_type == "离退休" and age < 60:
            employer, employer_type, positions = EMPLOYERS[i % 3]
        pool = ("医疗卫生" if "职业病" in employer else "律师" if "律师" in employer
                else employer_type if employer_type in TITLES else None)
        title = TITLES[pool][TITLE_LEVELS.index(level)]
        others = [s for s in rng.sample(SPECIALITIES, rng.choice((0, 0, 1, 2)))
                  if s != speciality]
        role = roles[i] if i < len(roles) else rng.choice(("无", None))
        out.append(ns(
            sheet, expert_no=f"SHAJZJ-{appointed.year}-{i + 1:03d}", name=mk.person(),
            id_number=number, gender=gender, birth_date=born if rng.random() < 0.85 else None,
            education=("博士研究生" if level == "正高级" and rng.random() < 0.5 else
                       rng.choice(("硕士研究生", "大学本科", "大学本科", "大学专科"))),
            employer=employer, employer_type=employer_type if rng.random() < 0.9 else None,
            position=rng.choice(positions) if positions and rng.random() < 0.8 else None,
            title_level=level, title=title,
            registered_engineer=rng.choice((True, True, False, None)),
            years_in_field=max(3, age - 23 - rng.randint(0, 6)),
            speciality=speciality, other_specialities="、".join(others) or None,
            expert_type="资深专家" if i < 3 or (level == "正高级" and age >= 50) else "普通专家",
            committee_role=role, appointed_on=appointed, term_ends_on=ends, status=statuses[i],
            mobile=mk.mobile(),
            email=f"expert{i + 1:03d}@example.cn" if rng.random() < 0.8 else None,
        ))
    out.sort(key=lambda e: (SPECIALITIES.index(e.speciality), e.expert_no))
    return out


# ---------------------------------------------------------------------------- 技术服务机构
AGENCIES = [
    # key, 名称, 单位性质, 所在区, 注册地址
    ("A01", "上海示例安全技术咨询有限公司（示例）", "企业", "浦东新区", "浦东新区示例路1088号8楼"),
    ("A02", "上海示例化工安全评价中心有限公司（示例）", "企业", "闵行区", "闵行区示例路258号3幢"),
    ("A03", "上海示例职业卫生检测评价中心有限公司（示例）", "企业", "徐汇区", "徐汇区示例路66号5楼"),
    ("A04", "上海示例石化工程咨询有限公司（示例）", "企业", "金山区", "金山区示例大道3501号"),
    ("A05", "上海示例环境与安全科技有限公司（示例）", "企业", "嘉定区", "嘉定区示例公路1999号"),
    ("A06", "上海市示例劳动卫生职业病防治所（示例）", "事业单位", "长宁区", "长宁区示例路1100号"),
    ("A07", "上海示例安全工程技术研究有限公司（示例）", "企业", "杨浦区", "杨浦区示例路128号12楼"),
    ("A08", "上海示例检测技术有限公司（示例）", "企业", "宝山区", "宝山区示例路777号"),
    ("A09", "上海示例安评咨询有限公司（示例）", "企业", "普陀区", "普陀区示例路350号6楼"),
    ("A10", "上海示例安全科技有限公司（示例）", "企业", "松江区", "松江区示例路88弄2号"),
    ("A11", "上海示例工程技术服务有限公司（示例）", "企业", "青浦区", "青浦区示例路555号"),
    ("A12", "上海示例风险管理咨询有限公司（示例）", "企业", "静安区", "静安区示例路1601号20楼"),
]
SA_SCOPES = ["石油加工业", "化学原料及化学制品制造业", "医药制造业", "危险化学品生产储存",
             "危险化学品经营", "金属冶炼", "非金属矿采选业", "烟花爆竹制造业", "交通运输业",
             "港口码头", "陆上油气管道运输业", "民用爆炸物品生产"]
OH_SCOPES = ["化工", "石化", "医药", "冶金", "建材", "机械制造", "轻工", "纺织", "电力",
             "交通运输", "电子", "放射卫生"]
SA_ISSUER = "上海市安全生产监督管理局"
SA_ISSUER_A = "国家安全生产监督管理总局"
# (agency, category, grade, 证书编号, issued, expires, status)
CERTIFICATES = [
    ("A01", "安全评价", "甲级", "APJ-（国）-512", D(2013, 4, 1), D(2018, 3, 31), "有效"),
    ("A01", "安全评价", "甲级", "APJ-（国）-512-2", D(2024, 3, 1), D(2029, 2, 28), "有效"),
    ("A01", "职业卫生技术服务", "乙级", "（沪）安职技字〔2012〕第011号", D(2012, 10, 1),
     D(2017, 9, 30), "有效"),
    ("A01", "职业卫生技术服务", "甲级", "（国）安职技字〔2024〕第0318号", D(2024, 6, 15),
     D(2029, 6, 14), "有效"),
    ("A02", "安全评价", "乙级", "APJ-（沪）-015", D(2013, 9, 1), D(2018, 8, 31), "有效"),
    ("A02", "安全评价", "乙级", "APJ-（沪）-015-2", D(2023, 9, 1), D(2028, 8, 31), "有效"),
    ("A02", "职业卫生技术服务", "乙级", "（沪）安职技字〔2024〕第021号", D(2024, 1, 1),
     D(2029, 12, 31), "有效"),
    ("A03", "职业卫生技术服务", "乙级", "（沪）安职技字〔2014〕第007号", D(2014, 5, 20),
     D(2017, 5, 19), "有效"),
    ("A03", "职业卫生技术服务", "乙级", "（沪）安职技字〔2025〕第007号", D(2025, 5, 20),
     D(2030, 5, 19), "有效"),
    ("A04", "安全评价", "乙级", "APJ-（沪）-008", D(2012, 7, 1), D(2017, 6, 30), "有效"),
    ("A04", "安全评价", "甲级", "APJ-（国）-347", D(2024, 1, 1), D(2029, 12, 31), "有效"),
    ("A04", "职业卫生技术服务", "乙级", "（沪）安职技字〔2025〕第033号", D(2025, 2, 1),
     D(2030, 1, 31), "有效"),
    ("A05", "安全评价", "乙级", "APJ-（沪）-017", D(2014, 3, 1), D(2019, 2, 28), "有效"),
    ("A05", "安全评价", "乙级", "APJ-（沪）-022", D(2022, 11, 1), D(2027, 10, 31), "有效"),
    ("A05", "职业卫生技术服务", "乙级", "（沪）安职技字〔2014〕第015号", D(2014, 8, 1),
     D(2019, 7, 31), "有效"),
    ("A06", "职业卫生技术服务", "乙级", "（沪）安职技字〔2013〕第002号", D(2013, 3, 1),
     D(2018, 2, 28), "有效"),
    ("A06", "职业卫生技术服务", "甲级", "（国）安职技字〔2025〕第0107号", D(2025, 1, 1),
     D(2030, 12, 31), "有效"),
    ("A06", "安全评价", "乙级", "APJ-（沪）-031", D(2025, 7, 1), D(2030, 6, 30), "有效"),
    ("A07", "安全评价", "乙级", "APJ-（沪）-013", D(2012, 12, 1), D(2017, 11, 30), "有效"),
    ("A07", "安全评价", "乙级", "APJ-（沪）-026", D(2023, 4, 1), D(2028, 3, 31), "有效"),
    ("A07", "职业卫生技术服务", "乙级", "（沪）安职技字〔2023〕第019号", D(2023, 4, 1),
     D(2028, 3, 31), "暂停"),
    ("A08", "职业卫生技术服务", "丙级", "（沪）安职技字〔2024〕第045号", D(2024, 10, 1),
     D(2029, 9, 30), "有效"),
    ("A09", "安全评价", "乙级", "APJ-（沪）-019", D(2014, 6, 1), D(2019, 5, 31), "撤销"),
    ("A10", "安全评价", "乙级", "APJ-（沪）-011", D(2013, 1, 1), D(2017, 12, 31), "有效"),
    ("A10", "安全评价", "乙级", "APJ-（沪）-035", D(2024, 1, 1), D(2029, 12, 31), "有效"),
    ("A10", "职业卫生技术服务", "乙级", "（沪）安职技字〔2024〕第052号", D(2024, 1, 1),
     D(2029, 12, 31), "有效"),
    ("A11", "安全评价", "乙级", "APJ-（沪）-012", D(2012, 3, 1), D(2017, 2, 28), "注销"),
    ("A12", "安全评价", "乙级", "APJ-（沪）-004", D(2013, 3, 1), D(2018, 2, 28), "有效"),
    ("A12", "安全评价", "甲级", "APJ-（国）-406", D(2025, 3, 1), D(2030, 2, 28), "有效"),
]


def build_agencies(mk: Maker) -> dict:
    rng = mk.rng
    sheet = sheets["agencies"]
    out = {}
    for key, name, org_type, district, address in AGENCIES:
        code = mk.credit_code("12" if org_type == "事业单位" else "91", district)
        out[key] = ns(sheet, name=name, credit_code=code, org_type=org_type,
                      legal_representative=mk.person(), technical_lead=mk.person(),
                      address="上海市" + address, district=district, contact=mk.person(),
                      phone=mk.landline() if rng.random() < 0.8 else mk.mobile(),
                      status="暂停执业" if key == "A09" else "正常")
    return out


def build_qualifications(mk: Maker, agencies: dict) -> list:
    rng = mk.rng
    sheet = sheets["qualifications"]
    out = []
    for key, category, grade, cert_no, issued, expires, status in CERTIFICATES:
        national = "（国）" in cert_no
        scopes = SA_SCOPES if category == "安全评价" else OH_SCOPES
        count = {"甲级": 7, "乙级": 5, "丙级": 3}[grade]
        picked = sorted(rng.sample(range(len(scopes)), count))
        out.append(ns(sheet, agency=agencies[key], category=category, grade=grade,
                      cert_no=cert_no, issuer=SA_ISSUER_A if national else SA_ISSUER,
                      issued_on=issued, expires_on=expires,
                      scope="、".join(scopes[i] for i in picked), status=status))
    return out


# 2016 blind reviews: (期次, 类别, agency, 报告类型, 项目, 出具日期, 得分, 核查结论, 措施, 主要问题)
SA, OH = "安全评价报告", "职业卫生评价报告"
REVIEWS = [
    (1, SA, "A01", "安全预评价", "上海示例化工有限公司（示例）年产5万吨丙烯酸酯扩建项目", D(2015, 10, 12),
     93.5, "一致", "无", None),
    (1, SA, "A02", "安全验收评价", "上海示例化学品仓储有限公司（示例）危险化学品仓储改扩建项目",
     D(2015, 11, 3), 86.0, "一致", "无", "个别安全设施检测报告未附在附件中。"),
    (1, SA, "A04", "安全现状评价", "上海示例石油化工股份有限公司（示例）乙烯裂解装置", D(2015, 9, 28),
     91.0, "一致", "无", None),
    (1, SA, "A05", "安全预评价", "上海示例能源有限公司（示例）液化石油气储配站迁建项目", D(2015, 12, 8),
     72.5, "基本一致", "通报",
     "1. 危险有害因素辨识不全面，遗漏储罐区雷电危害；\n2. 事故后果模拟参数取值依据不足。"),
    (1, SA, "A07", "安全验收评价", "上海示例涂料有限公司（示例）涂料生产线技术改造项目", D(2016, 1, 15),
     55.0, "不一致", "警示约谈",
     "1. 报告所述安全设施与现场不符，泄压设施未安装；\n2. 未对试生产期间发现的问题提出整改要求；\n"
     "3. 评价结论依据不足。"),
    (1, SA, "A10", "安全现状评价", "上海示例加油站管理有限公司（示例）所属加油站（10座）",
     D(2015, 10, 30), 81.5, "一致", "无", None),
    (1, SA, "A11", "安全专项评价", "上海示例电镀有限公司（示例）氯气使用场所重大危险源", D(2016, 2, 2),
     64.0, "基本一致", "责令整改", "重大危险源辨识与分级计算有误，未提出有针对性的监控措施。"),
    (1, SA, "A12", "安全预评价", "上海示例港务集团有限公司（示例）危险货物集装箱堆场项目",
     D(2016, 2, 22), 88.5, "一致", "无", None),
    (1, SA, "A04", "安全验收评价", "上海示例精细化工有限公司（示例）医药中间体车间改造项目",
     D(2015, 12, 21), 77.0, "一致", "无", "安全管理制度评价内容简单。"),
    (2, SA, "A01", "安全验收评价", "上海示例新材料股份有限公司（示例）年产3万吨环氧树脂项目",
     D(2016, 4, 18), 90.0, "一致", "无", None),
    (2, SA, "A02", "安全预评价", "上海示例化学品仓储有限公司（示例）甲醇储罐区扩建项目", D(2016, 5, 9),
     79.5, "一致", "无", "定量风险评价未考虑周边敏感目标。"),
    (2, SA, "A04", "安全验收评价", "上海示例石油化工股份有限公司（示例）芳烃抽提装置改造项目",
     D(2016, 6, 1), 84.0, "一致", "无", None),
    (2, SA, "A05", "安全现状评价", "上海示例气体有限公司（示例）气体充装站", D(2016, 5, 23), 58.5,
     "不一致", "警示约谈", "1. 现场充装设备与报告描述不一致；\n2. 检查表多处照搬其他项目内容。"),
    (2, SA, "A09", "安全预评价", "上海示例化工贸易有限公司（示例）储存设施新建项目", D(2016, 4, 6),
     45.0, "虚假", "移送处罚", "报告中的现场勘查照片与项目现场不符，评价人员未到现场，涉嫌出具虚假报告。"),
    (2, SA, "A10", "安全验收评价", "上海示例精细化工有限公司（示例）溶剂回收装置项目", D(2016, 7, 11),
     92.0, "一致", "无", None),
    (2, SA, "A12", "安全现状评价", "上海示例港务集团有限公司（示例）危险货物码头", D(2016, 6, 20), 68.0,
     "基本一致", "通报", "未对码头装卸作业的主要危险有害因素进行定量分析。"),
    (2, SA, "A07", "安全预评价", "上海示例涂料有限公司（示例）油漆仓库改建项目", D(2016, 8, 5), 61.0,
     "基本一致", "警示约谈", "整改后复评仍存在评价单元划分不合理、对策措施针对性不强的问题。"),
    (2, SA, "A11", "安全现状评价", "上海示例固废处置有限公司（示例）危险废物焚烧装置", D(2016, 5, 30),
     83.0, "一致", "无", None),
    (1, OH, "A03", "职业病危害控制效果评价", "上海示例制造有限公司（示例）电子元器件生产线",
     D(2015, 11, 19), 89.0, "一致", "无", None),
    (1, OH, "A06", "职业病危害预评价", "上海示例精细化工有限公司（示例）医药中间体生产项目",
     D(2015, 12, 2), 94.5, "一致", "无", None),
    (1, OH, "A01", "职业病危害现状评价", "上海示例制造有限公司（示例）汽车零部件铸造车间", D(2016, 1, 8),
     82.0, "一致", "无", None),
    (1, OH, "A05", "职业病危害控制效果评价", "上海示例印染有限公司（示例）家具喷涂生产线",
     D(2016, 1, 26), 57.0, "不一致", "警示约谈",
     "1. 苯系物检测点位设置不符合规范；\n2. 个体防护用品评价缺失；\n3. 报告结论与检测结果矛盾。"),
    (1, OH, "A03", "职业病危害现状评价", "上海示例印染有限公司（示例）印染车间", D(2015, 10, 20), 74.0,
     "基本一致", "无", "类比调查对象选择不够合理。"),
    (1, OH, "A06", "职业病危害控制效果评价", "上海示例石油化工股份有限公司（示例）炼油装置区",
     D(2015, 12, 28), 66.5, "基本一致", "责令整改", "噪声检测未覆盖全部岗位，接触水平评价不完整。"),
]
REPORT_PREFIX = {"安全评价报告": "AP", "职业卫生评价报告": "ZW"}


def build_reviews(mk: Maker, agencies: dict) -> list:
    rng = mk.rng
    sheet = sheets["reviews"]
    out, counters = [], {}
    for n, (period, category, key, kind, project, issued, score, check, measure, problems) in \
            enumerate(REVIEWS):
        batch = (2016, period, category)
        counters[batch] = counters.get(batch, 0) + 1
        blind = f"{'A' if category == SA else 'Z'}{period}-{counters[batch]:02d}"
        report_no = (f"{REPORT_PREFIX[category]}{key[1:]}-{issued.year}-"
                     f"{rng.randint(10, 199):03d}")
        score_d = Decimal(str(score))
        derived = ag.grade_for(score_d)
        out.append(ns(sheet, year=2016, period=period, category=category, blind_no=blind,
                      agency=agencies[key], report_no=report_no, report_type=kind,
                      project_name=project, issued_on=issued, score=score_d,
                      grade=derived if n % 2 == 0 else None,  # half given, half derived
                      problems=problems, site_check=check, measure=measure))
    return out


def build_interviews(mk: Maker, agencies: dict, reviews: list) -> list:
    sheet = sheets["interviews"]
    cases = [r for r in reviews if r.measure == "警示约谈"]
    officials = [f"市安全监管局规划科技处处长 {mk.person()}", f"市安全监管局副局长 {mk.person()}"]
    results = ["已整改", "已整改", "部分整改", None]
    out = []
    for i, r in enumerate(sorted(cases, key=lambda r: (r.period, r.category, r.blind_no))):
        when = D(2016, 6 if r.period == 1 else 10, 8 + 7 * i)
        by_lead = i % 2 == 1
        out.append(ns(
            sheet, agency=r.agency, interviewed_on=when,
            reason=(f"2016年第{r.period}期{r.category}盲审中，该机构出具的《{r.project_name}》"
                    f"（报告编号 {r.report_no}）得分 {r.score}，现场核查结论为“{r.site_check}”。"),
            interviewer=officials[i % 2],
            interviewee=r.agency.technical_lead if by_lead else r.agency.legal_representative,
            interviewee_role="技术负责人" if by_lead else "法定代表人",
            requirements=("1. 对涉事报告进行全面复核，并书面说明情况；\n"
                          "2. 对评价人员开展专项培训，落实过程控制和内部审核制度；\n"
                          "3. 自查近一年出具的同类报告，整改情况书面报市安全监管局。"),
            deadline=when + dt.timedelta(days=30 if i % 2 else 45),
            result=results[i % len(results)]))
    return out


# ---------------------------------------------------------------------------- 抵押金与保险
ENTERPRISES = [
    # key, 名称, 所在区, 行业类别, 企业规模, 地址
    ("E01", "上海示例石油化工股份有限公司（示例）", "金山区", "危化品生产", "特大型", "金山区示例大道1号"),
    ("E02", "上海示例化学品仓储有限公司（示例）", "浦东新区", "危化品储存", "中型", "浦东新区示例路300号"),
    ("E03", "上海示例化工贸易有限公司（示例）", "普陀区", "危化品经营", "小型", "普陀区示例路88号1102室"),
    ("E04", "上海示例涂料有限公司（示例）", "嘉定区", "危化品使用", "中型", "嘉定区示例公路2588号"),
    ("E05", "上海示例固废处置有限公司（示例）", "青浦区", "危化品废弃物处置", "中型", "青浦区示例路1200号"),
    ("E06", "上海示例建材矿业有限公司（示例）", "松江区", "非煤矿山", "小型", "松江区示例镇示例山路5号"),
    ("E07", "上海示例危险品运输有限公司（示例）", "宝山区", "交通运输", "大型", "宝山区示例路1501号"),
    ("E08", "上海示例建设集团有限公司（示例）", "徐汇区", "建筑施工", "特大型", "徐汇区示例路900号"),
    ("E09", "上海示例烟花爆竹批发有限公司（示例）", "奉贤区", "烟花爆竹", "微型", "奉贤区示例路66号"),
    ("E10", "上海示例气体有限公司（示例）", "闵行区", "危化品生产", "大型", "闵行区示例路4000号"),
    ("E11", "上海示例精细化工有限公司（示例）", "金山区", "危化品生产", "中型", "金山区示例路258号"),
    ("E12", "上海示例加油站管理有限公司（示例）", "长宁区", "危化品经营", "小型", "长宁区示例路1号"),
    ("E13", "上海示例市政工程有限公司（示例）", "杨浦区", "建筑施工", "大型", "杨浦区示例路700号"),
    ("E14", "上海示例电镀有限公司（示例）", "崇明区", "危化品使用", "小型", "崇明区示例镇示例路18号"),
    ("E15", "上海示例物流有限公司（示例）", "虹口区", "交通运输", "中型", "虹口区示例路505号"),
    ("E16", "上海示例印染有限公司（示例）", "静安区", "其他", "小型", "静安区示例路120号"),
]
INSURERS = ["示例财产保险股份有限公司上海分公司（示例）", "华东示例保险股份有限公司上海分公司（示例）",
            "示例平安财产保险有限公司上海分公司（示例）"]
BANKS = ["上海示例银行浦东分行（示例）", "示例商业银行上海分行（示例）", "上海示例农村商业银行金山支行（示例）"]


def build_enterprises(mk: Maker) -> dict:
    rng = mk.rng
    sheet = sheets["enterprises"]
    out = {}
    for key, name, district, industry, size, address in ENTERPRISES:
        out[key] = ns(sheet, name=name, credit_code=mk.credit_code("91", district),
                      district=district, industry=industry, size=size,
                      address="上海市" + address, contact=mk.person(),
                      phone=mk.landline() if rng.random() < 0.7 else mk.mobile())
    return out


# (key, enterprise, insurer, kind, start, end, insured, per person 万, per accident 万,
#  total 万, premium 元, payment, status)
POLICIES = [
    ("P01", "E01", 0, "危险化学品安全责任保险", D(2016, 1, 1), D(2016, 12, 31), 1850, 80, 1600, 3200,
     "186000.00", "已缴", "有效"),
    ("P02", "E04", 1, "安全生产责任保险", D(2016, 1, 1), D(2016, 12, 31), 260, 50, 500, 1000, "23400.00",
     "已缴", "有效"),
    ("P03", "E08", 2, "安全生产责任保险", D(2015, 7, 1), D(2016, 6, 30), 3200, 60, 1200, 3600,
     "152000.00", "已缴", "有效"),
    ("P04", "E08", 2, "安全生产责任保险", D(2016, 7, 1), D(2017, 6, 30), 3350, 60, 1200, 3600,
     "158500.00", "部分缴纳", "有效"),
    ("P05", "E02", 0, "危险化学品安全责任保险", D(2016, 3, 1), D(2017, 2, 28), 180, 50, 500, 1500,
     "31800.00", "已缴", "已批改"),
    ("P06", "E12", 1, "安全生产责任保险", D(2016, 1, 1), D(2016, 12, 31), 45, 30, 300, 600, "6750.00",
     "已缴", "有效"),
    ("P07", "E15", 0, "安全生产责任保险", D(2016, 4, 1), D(2017, 3, 31), 150, 40, 400, 800, "12600.00",
     "未缴", "已退保"),
    ("P08", "E10", 1, "危险化学品安全责任保险", D(2026, 1, 1), D(2026, 12, 31), 620, 100, 2000, 4000,
     "98000.00", "已缴", "有效"),
    ("P09", "E01", 0, "危险化学品安全责任保险", D(2026, 3, 1), D(2027, 2, 28), 1760, 100, 2000, 5000,
     "235000.00", "已缴", "有效"),
    ("P10", "E14", 2, "安全生产责任保险", D(2026, 6, 1), D(2027, 5, 31), 38, 30, 300, 600, "5800.00",
     "部分缴纳", "有效"),
]
# (enterprise, year, approved 万, deposited 万 or None, bank?, deposited_on, status, policy,
#  returned_on, returned 万)
DEPOSITS = [
    ("E01", 2015, 200, 200, True, D(2015, 4, 20), "已足额", None, None, None),
    ("E01", 2016, 220, None, False, None, "免存", "P01", None, None),
    ("E02", 2015, 100, 60, True, D(2015, 5, 6), "未足额", None, None, None),
    ("E02", 2016, 100, 100, True, D(2016, 3, 30), "已足额", None, None, None),
    ("E03", 2015, 30, 30, True, D(2015, 3, 18), "已返还", None, D(2016, 8, 31), 30),
    ("E04", 2015, 100, 100, True, D(2015, 6, 2), "已足额", None, None, None),
    ("E04", 2016, 100, None, False, None, "免存", "P02", None, None),
    ("E05", 2016, 120, None, True, None, "待存储", None, None, None),
    ("E06", 2015, 30, 30, True, D(2015, 4, 8), "已足额", None, None, None),
    ("E07", 2016, 150, 90, True, D(2016, 2, 25), "已使用待补存", None, None, None),
    ("E08", 2016, 250, None, False, None, "免存", "P03", None, None),
    ("E09", 2016, 10, 10, True, D(2016, 1, 12), "已足额", None, None, None),
    ("E10", 2015, 150, 150, True, D(2015, 7, 1), "已返还", None, D(2016, 12, 20), 120),
    ("E11", 2016, 100, 80, True, D(2016, 4, 15), "未足额", None, None, None),
]


def build_policies(mk: Maker, enterprises: dict) -> dict:
    sheet = sheets["policies"]
    out = {}
    for (key, ent, insurer, kind, start, end, insured, person, accident, total, premium,
         payment, status) in POLICIES:
        prefix = "PWHP" if kind.startswith("危险化学品") else "PAZX"
        number = f"{prefix}{start.year}3101{mk.rng.randint(0, 10**8 - 1):08d}"
        out[key] = ns(sheet, policy_no=number, insurer=INSURERS[insurer],
                      enterprise=enterprises[ent],
                      kind=kind, starts_on=start, ends_on=end, insured_count=insured,
                      per_person_limit=W(person), per_accident_limit=W(accident),
                      total_limit=W(total), premium=Decimal(premium), payment_status=payment,
                      status=status)
    return out


def build_deposits(mk: Maker, enterprises: dict, policies: dict) -> list:
    sheet = sheets["deposits"]
    out = []
    for (ent, year, approved, deposited, banked, on, status, policy, returned_on,
         returned) in DEPOSITS:
        bank = BANKS[(int(ent[1:]) + year) % len(BANKS)] if banked else None
        out.append(ns(sheet, enterprise=enterprises[ent], year=year, approved_amount=W(approved),
                      deposited_amount=W(deposited) if deposited is not None else None,
                      bank=bank, account_no=mk.account() if banked else None, deposited_on=on,
                      status=status, exempt_policy=policies[policy] if policy else None,
                      returned_on=returned_on,
                      returned_amount=W(returned) if returned is not None else None))
    return out


# ---------------------------------------------------------------------------- build
def records() -> dict[str, list]:
    """slug -> the records of that list, in the order they are written."""
    mk = Maker(random.Random(SEED))
    powers, duties, by_code = build_powers(mk)
    reforms = build_reforms(by_code)
    experts = build_experts(mk)
    agencies = build_agencies(mk)
    qualifications = build_qualifications(mk, agencies)
    reviews = build_reviews(mk, agencies)
    interviews = build_interviews(mk, agencies, reviews)
    enterprises = build_enterprises(mk)
    policies = build_policies(mk, enterprises)
    deposits = build_deposits(mk, enterprises, policies)
    return {
        "powers": powers, "responsibilities": duties, "reforms": reforms, "experts": experts,
        "agencies": list(agencies.values()), "qualifications": qualifications,
        "reviews": reviews, "interviews": interviews,
        "enterprises": list(enterprises.values()), "policies": list(policies.values()),
        "deposits": deposits,
    }


def build(out_dir) -> dict[str, int]:
    """Write <out_dir>/<slug>.xlsx for every list that `records()` has demo data for;
    returns slug -> number of records. Lists without demo data get no file."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = records()
    unknown = sorted(set(data) - {s.slug for s in sheets})
    if unknown:
        raise RuntimeError(f"demo data for lists that are not declared: {unknown}")
    counts = {}
    for sheet in sheets:
        if sheet.slug in data:
            path = out_dir / f"{sheet.slug}.xlsx"
            counts[sheet.slug] = write_export(sheet, data[sheet.slug], path)
            pin_timestamps(path)
    return counts


def pin_timestamps(path: Path) -> None:
    """Give a workbook fixed timestamps: openpyxl writes the time of saving into its document
    properties (dcterms:created/modified) and into every zip entry's date."""
    with zipfile.ZipFile(path) as old:
        members = [(info, old.read(info)) for info in old.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as new:
        for info, content in members:
            if info.filename == CORE_PROPERTIES:
                properties = DocumentProperties.from_tree(fromstring(content))
                properties.created = properties.modified = STAMP
                content = tostring(properties.to_tree())
            pinned = zipfile.ZipInfo(info.filename, date_time=STAMP.timetuple()[:6])
            pinned.compress_type = zipfile.ZIP_DEFLATED
            pinned.external_attr = info.external_attr
            new.writestr(pinned, content)
    path.write_bytes(buf.getvalue())


if __name__ == "__main__":
    for slug, count in build(Path(__file__).resolve().parent).items():
        print(f"{slug}: {count}")
