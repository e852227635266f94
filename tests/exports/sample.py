"""A whole meeting's minutes as a value, for the writers' tests: every section filled."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from meetings.domain.minutes import (
    ActionLine,
    AgendaLine,
    Approval,
    AttendanceLine,
    DecisionLine,
    Guest,
    Minutes,
    MotionLine,
    NoteLine,
    Topic,
    VoteLine,
    word_safe,
)
from meetings.domain.model import (
    ActionStatus,
    AttendanceStatus,
    Choice,
    MajorityRule,
    MeetingKind,
    MotionKind,
    NoteKind,
    Role,
)

CATALOGUE = AgendaLine(11, "Open data catalogue", True, "EPB")
CLOUD = AgendaLine(12, "Shared cloud platform", False, "MSB")
NAMED = MotionLine(21, MotionKind.NAMED, "Adopt the open data catalogue", MajorityRule.SIMPLE,
                   2, 1, 0, 3, True, "a1b2c3d4e5f6",
                   (VoteLine("EPB", Choice.YES), VoteLine("FIN", Choice.NO),
                    VoteLine("MSB", Choice.YES)), date(2026, 12, 10))
SECRET = MotionLine(22, MotionKind.SECRET, "Fund phase two of the cloud", MajorityRule.SIMPLE,
                    1, 2, 0, 3, False, "0f9e8d7c6b5a", (), date(2026, 12, 10))
CIRCULAR = MotionLine(20, MotionKind.CIRCULAR, "Renew the network contract",
                      MajorityRule.SIMPLE, 3, 0, 1, 4, True, "112233445566",
                      (VoteLine("EPB", Choice.YES), VoteLine("FIN", Choice.YES),
                       VoteLine("ITB", Choice.ABSTAIN), VoteLine("MSB", Choice.YES)),
                      date(2026, 12, 1))

MINUTES = Minutes(
    council="Riverside CIO Council", number=7, kind=MeetingKind.REGULAR, day=date(2026, 12, 10),
    starts="14:30", ends="16:05", place="City Hall, Room 301", chair="Li Wei", title="",
    attendance=(
        AttendanceLine("EPB", "Environmental Protection Bureau", AttendanceStatus.PRESENT,
                       "Zhang San"),
        AttendanceLine("MSB", "Municipal Services Bureau", AttendanceStatus.PRESENT, "Chen Jie"),
        AttendanceLine("FIN", "Finance Bureau", AttendanceStatus.PROXY, "Deputy Wang"),
        AttendanceLine("ITB", "Information Technology Bureau", AttendanceStatus.EXCUSED,
                       "Zhao Min", "travelling"),
        AttendanceLine("HRB", "Human Resources Bureau", AttendanceStatus.ABSENT, "Sun Li"),
    ),
    guests=(Guest("Dr. Qian", Role.EXPERT), Guest("Press Office", Role.OBSERVER)),
    agenda=(CATALOGUE, CLOUD),
    topics=(
        Topic(None, (NoteLine(NoteKind.INFO, "Budget figures arrive in May", "Secretariat"),),
              (), ()),
        Topic(CATALOGUE, (NoteLine(NoteKind.IDEA, "Publish it as CSV and JSON", "Zhang San"),),
              (NAMED,), (DecisionLine(31, "Adopt the open data catalogue", 21),)),
        Topic(CLOUD, (NoteLine(NoteKind.INFO, "Two vendors replied", "Chen Jie"),), (SECRET,),
              (DecisionLine(32, "Ask both vendors for a second offer", None),)),
    ),
    circular=(CIRCULAR,),
    actions=(ActionLine(41, "EPB", "Draft the catalogue schema", date(2026, 12, 31),
                        ActionStatus.OPEN),
             ActionLine(42, "MSB", "Collect the vendors' offers", date(2027, 1, 15),
                        ActionStatus.OPEN)),
    carried_over=(ActionLine(35, "FIN", "Cost the data centre move", date(2026, 11, 30),
                             ActionStatus.OVERDUE),),
    next_meeting=date(2027, 1, 14),
    approval=Approval(1, "Secretariat"),
)

CHINESE = replace(
    MINUTES, council="滨江市首席信息官委员会", place="市政府301会议室", chair="李伟",
    attendance=(
        AttendanceLine("EPB", "市生态环境局", AttendanceStatus.PRESENT, "张三"),
        AttendanceLine("MSB", "市城市管理局", AttendanceStatus.PRESENT, "陈杰"),
        AttendanceLine("FIN", "市财政局", AttendanceStatus.PROXY, "王副处长"),
        AttendanceLine("ITB", "市大数据局", AttendanceStatus.EXCUSED, "赵敏", "出差"),
        AttendanceLine("HRB", "市人力资源局", AttendanceStatus.ABSENT, "孙立"),
    ),
    guests=(Guest("钱博士", Role.EXPERT),),
    agenda=(replace(CATALOGUE, title="政务数据开放目录"), replace(CLOUD, title="政务云平台共建")),
    topics=(
        Topic(None, (NoteLine(NoteKind.INFO, "明年预算数据五月下达", "秘书处"),), (), ()),
        Topic(replace(CATALOGUE, title="政务数据开放目录"),
              (NoteLine(NoteKind.IDEA, "以CSV和JSON格式发布", "张三"),),
              (replace(NAMED, text="通过政务数据开放目录"),),
              (DecisionLine(31, "通过政务数据开放目录", 21),)),
        Topic(replace(CLOUD, title="政务云平台共建"),
              (NoteLine(NoteKind.INFO, "两家供应商已答复", "陈杰"),),
              (replace(SECRET, text="拨付二期建设资金"),),
              (DecisionLine(32, "请两家供应商再次报价", None),)),
    ),
    circular=(replace(CIRCULAR, text="续签网络服务合同"),),
    actions=(ActionLine(41, "EPB", "起草开放目录数据结构", date(2026, 12, 31), ActionStatus.OPEN),
             ActionLine(42, "MSB", "汇总供应商报价", date(2027, 1, 15), ActionStatus.OPEN)),
    carried_over=(ActionLine(35, "FIN", "测算数据中心搬迁费用", date(2026, 11, 30),
                             ActionStatus.OVERDUE),),
    approval=Approval(1, "秘书处"),
)

HOSTILE_NOTE = word_safe(
    "ctrl\x00\x01\x0b\x1f end; lone \ud800 surrogate; RTL שלום عربي; emoji 🙂👩‍💻; "
    "<w:p><w:r><w:t>injected</w:t></w:r></w:p> &amp; ]]> " + "长" * 100_000)
HOSTILE = replace(MINUTES, topics=(
    *MINUTES.topics,
    Topic(None, (NoteLine(NoteKind.INFO, HOSTILE_NOTE, "<script>alert(1)</script>"),), (), ()),
))
