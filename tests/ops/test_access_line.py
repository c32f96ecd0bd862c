"""The access line of `odex serve` (app.processes.AccessFormatter): the same text logging's own
formatter makes from its format, however many lines share a second."""

from __future__ import annotations

import logging

from app.processes import AccessFormatter

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def record(created: float, path: str) -> logging.LogRecord:
    made = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("10.0.0.7:51234", "GET", path, "1.1", 200), None,
    )  # fmt: skip
    made.created, made.msecs = created, (created - int(created)) * 1000
    return made


def test_the_access_line_is_logging_s_own_text() -> None:
    ours, theirs = AccessFormatter(), logging.Formatter(FORMAT)
    for created in (1_700_000_000.001, 1_700_000_000.999, 1_700_000_001.5, 1_700_000_000.25):
        line = record(created, "/app?q=%C3%BC")
        assert ours.format(line) == theirs.format(line)


def test_a_line_with_an_exception_keeps_its_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        line = record(1_700_000_000.5, "/")
        line.exc_info = sys.exc_info()
    text = AccessFormatter().format(line)
    assert "ValueError: boom" in text and text == logging.Formatter(FORMAT).format(line)
