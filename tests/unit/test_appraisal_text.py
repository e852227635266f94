"""The appraisal as chat text: a province-sized table splits under Telegram's limit, and a card
reads in Chinese with its evidence."""

from __future__ import annotations

from datetime import date

from bot.appraisal_text import card_text, table_text
from bot.telegram.render import TELEGRAM_TEXT_LIMIT, split_text
from meetings.domain import appraisal
from meetings.domain.appraisal import Appraisal, Card, Period, Ref, Row, Tally, Weights

YEAR = Period("2026", date(2026, 1, 1), date(2026, 12, 31))


def test_a_large_table_splits_under_the_limit() -> None:
    """120 people: every piece fits one message and no line is cut in two."""
    rows = tuple(Row(f"D{i:03d}", f"第{i}局", f"首席信息官{i}", Tally(i, i, held=6, present=5,
                                                                  absent=1), 83.3, YEAR.first,
                     YEAR.last) for i in range(120))
    text = table_text("zh", Appraisal("某省委员会", YEAR, Weights(), rows, date(2027, 1, 5)))
    pieces = split_text(text)
    assert len(pieces) > 1
    assert all(len(piece) <= TELEGRAM_TEXT_LIMIT for piece in pieces)
    assert text.splitlines() == [line for piece in pieces for line in piece.splitlines()]
    assert "D007 首席信息官7（01-01–12-31）：亲自出席 5/6" in text


def test_a_card_reads_in_chinese_with_its_evidence() -> None:
    """Each figure with the records behind it, the rates, and the weights line."""
    tally = Tally(1, 10, held=1, present=1, eligible_votes=1, votes_cast=1)
    row = Row("EPB", "生态环境局", "李明", tally, appraisal.score(tally, Weights()), YEAR.first,
              YEAR.last)
    card = Card(tally, YEAR.window("Asia/Shanghai")[0], YEAR.window("Asia/Shanghai")[1], {
        "held": (Ref("meeting", 3, date(2026, 3, 10)),),
        "present": (Ref("meeting", 3, date(2026, 3, 10)),),
        "votes_cast": (Ref("motion", 4, date(2026, 3, 10)),)})
    table = Appraisal("委员会", YEAR, Weights(), (row,), date(2027, 1, 5))
    text = card_text("zh", appraisal.explained(table, row, card))
    assert "亲自出席：1 — 会议 S3（2026年3月10日 周二）" in text
    assert "已投票：1 — 表决 M4（2026年3月10日 周二）" in text
    assert "出席（权重 40）：1/1 = 100.0%" in text
    assert "投票参与（权重 20）：1/1 = 100.0%" in text
    assert "事项按期完成（权重 20）：无可评项，不计入" in text
    assert "权重：出席 40" in text
