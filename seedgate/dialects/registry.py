"""The dialects a task can belong to; answers and webhooks are rendered in the task's own dialect."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from seedgate.core.task import Task

from . import ark


@dataclass(frozen=True)
class Dialect:
    name: str
    render_task: Callable[[Task, dict[str, str]], dict[str, Any]]
    callback_url: Callable[[Task], str | None]


DIALECTS: dict[str, Dialect] = {
    ark.NAME: Dialect(ark.NAME, ark.render_task, ark.callback_url),
}


def dialect_of(task: Task) -> Dialect:
    return DIALECTS.get(task.dialect, DIALECTS[ark.NAME])
