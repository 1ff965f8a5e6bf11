"""Booking questions: extra fields a meeting type asks guests (text, choice, phone; required or not).

Answers go through the one validator of public input (:mod:`hub.public_input`), are stored on the
booking, written into the CRM meeting's description and kept on the contact.

Public API: :data:`KINDS`, :func:`parse_questions`, :func:`questions_text`, :func:`clean_answers`,
:func:`describe`.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from hub import public_input
from hub.exceptions import ValidationError

KINDS = ("text", "choice", "phone")
MAX_QUESTIONS = 20
MAX_CHOICES = 50
MAX_LABEL = 200
MAX_ANSWER = 1000
FIELD_PREFIX = "q_"


def _key(label: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:40] or "question"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def parse_questions(values: Mapping[str, Any]) -> list[dict] | None:
    """``questions`` of an API body (a list of {"label", "kind", "required", "choices"}) or of the form's
    text (one question a line: ``label | kind | choice a, choice b | required``).

    :return: the questions with stable keys, or ``None`` when ``values`` do not mention them.
    :raises ValidationError: naming the wrong question.
    """
    given = values.get("questions")
    if given is None:
        return None
    items: list[Any]  # an API body's questions are whatever the client sent: each is checked below
    if isinstance(given, str):
        items = []
        for line in given.splitlines():
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            required = len(parts) > 1 and parts[-1].lower() == "required"
            if required or (len(parts) > 1 and parts[-1].lower() == "optional"):
                parts = parts[:-1]
            kind = parts[1].lower() if len(parts) > 1 else "text"
            choices = [c.strip() for c in parts[2].split(",") if c.strip()] if len(parts) > 2 else []
            items.append({"label": parts[0], "kind": kind, "required": required, "choices": choices})
    elif isinstance(given, list):
        items = given
    else:
        raise ValidationError("questions must be a list.", field="questions")
    if len(items) > MAX_QUESTIONS:
        raise ValidationError(f"At most {MAX_QUESTIONS} questions.", field="questions")
    out: list[dict] = []
    taken: set[str] = set()
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise ValidationError(f"Question {n}: give label, kind and required.", field="questions")
        label = public_input.clean_text(item.get("label"), "questions", f"a label for question {n}", MAX_LABEL)
        kind = item.get("kind") or "text"
        if kind not in KINDS:
            raise ValidationError(f"Question {n}: the kind is one of {', '.join(KINDS)}.", field="questions")
        raw_choices = item.get("choices") or []
        if not isinstance(raw_choices, list) or len(raw_choices) > MAX_CHOICES:
            raise ValidationError(f"Question {n}: give at most {MAX_CHOICES} choices.", field="questions")
        choices = [public_input.clean_text(c, "questions", f"the choices of question {n}", MAX_LABEL)
                   for c in raw_choices]
        if kind == "choice" and not choices:
            raise ValidationError(f"Question {n}: a choice question needs choices.", field="questions")
        key = _key(label, taken)
        taken.add(key)
        out.append({"key": key, "label": label, "kind": kind, "required": bool(item.get("required")),
                    "choices": choices if kind == "choice" else []})
    return out


def questions_text(questions: list[dict] | None) -> str:
    """The form's text of ``questions``."""
    lines = []
    for q in questions or []:
        parts = [q["label"], q["kind"]]
        if q["kind"] == "choice":
            parts.append(", ".join(q["choices"]))
        parts.append("required" if q["required"] else "optional")
        lines.append(" | ".join(parts))
    return "\n".join(lines)


def clean_answers(questions: list[dict] | None, values: Mapping[str, Any]) -> list[dict]:
    """The guest's answers, checked: ``values`` hold ``q_<key>`` (the form) or ``<key>`` (the API).

    :return: [{"key", "label", "answer"}] for the answered questions, in the type's order.
    :raises ValidationError: a required answer missing, a choice not offered, a bad phone number.
    """
    out = []
    for q in questions or []:
        field = FIELD_PREFIX + q["key"]
        raw = values.get(field, values.get(q["key"]))
        label = f"an answer to “{q['label']}”"
        if q["kind"] == "phone":
            answer = public_input.clean_phone(raw, field, required=q["required"])
        else:
            answer = public_input.clean_text(raw, field, label, MAX_ANSWER, required=q["required"])
        if q["kind"] == "choice" and answer and answer not in q["choices"]:
            raise ValidationError(f"Pick one of the choices for “{q['label']}”.", field=field)
        if answer:
            out.append({"key": q["key"], "label": q["label"], "answer": answer})
    return out


def describe(answers: list[dict] | None) -> str:
    """Answers as lines of the CRM meeting's description."""
    return "\n".join(f"{a['label']}: {a['answer']}" for a in answers or [])
