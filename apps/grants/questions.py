"""A program's own questions: their definition, the JSON Schema clients render, and the answers.

A published `ApplicationForm` freezes its questions into a definition, a list of plain dicts:

    {"key": "budget_justification", "label": "Why this budget?", "type": "long_text",
     "required": True, "help": "", "choices": [], "when": {"key": "has_partners", "equals": True},
     "questions": [...]}        # only for a "group": its questions, repeated per entry

From it come the JSON Schema (draft 2020-12) the applicant's API serves, and the validation of
answers: the same schema validates them, so what a client renders is what the server checks.
Answers to a question whose condition is not met are dropped, never stored.
"""

import re
from collections.abc import Iterable

from rest_framework.exceptions import ErrorDetail

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,59}$"
MONEY_PATTERN = r"^\d{1,12}(\.\d{1,2})?$"
MAX_GROUP_ENTRIES = 50
MAX_TEXT = 1000
MAX_LONG_TEXT = 20000

TYPES = {
    "text": "Short text",
    "long_text": "Long text",
    "number": "Number",
    "money": "Amount of money",
    "date": "Date",
    "choice": "Choice",
    "yes_no": "Yes or no",
    "file": "File upload",
    "group": "Repeatable group",
}

# What a person reads when an answer has the wrong shape, by question type.
_SHAPE_MESSAGES = {
    "text": f"Enter text of at most {MAX_TEXT} characters.",
    "long_text": f"Enter text of at most {MAX_LONG_TEXT} characters.",
    "number": "Enter a number.",
    "money": "Enter an amount in dollars and cents, like 1250.00.",
    "date": "Enter a date as YYYY-MM-DD.",
    "choice": "Choose one of the listed choices.",
    "yes_no": "Answer true or false.",
    "file": "Give the id of a document uploaded to this application.",
    "group": f"Give a list of entries (at most {MAX_GROUP_ENTRIES}), each an object of answers.",
}


def _error(message: str, code: str) -> ErrorDetail:
    return ErrorDetail(message, code=code)


# ------------------------------------------------------------------------------------------------
# The definition: checked before a form is published
# ------------------------------------------------------------------------------------------------


def definition_problems(definition: list[dict]) -> list[str]:
    """What makes a definition unpublishable, in words for the program staff who built it."""
    problems: list[str] = []
    if not definition:
        problems.append("A form needs at least one question.")
    _check_level(definition, problems, where="")
    return problems


def _check_level(questions: list[dict], problems: list[str], *, where: str) -> None:
    earlier: dict[str, dict] = {}
    for question in questions:
        key, kind = question["key"], question["type"]
        name = f"{where}{key}"
        if not re.match(KEY_PATTERN, key):
            problems.append(
                f"{name!r}: a key is lower-case letters, digits and underscores, starting with a "
                "letter (at most 60)."
            )
        if key in earlier:
            problems.append(f"{name!r}: two questions have this key.")
        if kind not in TYPES:
            problems.append(f"{name!r}: unknown question type {kind!r}.")
        if kind == "choice" and len(question["choices"]) < 2:
            problems.append(f"{name!r}: a choice question needs at least two choices.")
        if kind == "group":
            if where:
                problems.append(f"{name!r}: a group cannot hold another group.")
            if not question["questions"]:
                problems.append(f"{name!r}: a group needs at least one question.")
            _check_level(question["questions"], problems, where=f"{name}.")
        elif question.get("questions"):
            problems.append(f"{name!r}: only a group holds questions.")
        when = question.get("when")
        if when:
            source = earlier.get(when["key"])
            if source is None:
                problems.append(
                    f"{name!r}: it is shown depending on {when['key']!r}, which must be an "
                    "earlier question at the same level."
                )
            elif source["type"] == "yes_no" and not isinstance(when["equals"], bool):
                problems.append(f"{name!r}: a yes/no question's condition is yes or no.")
            elif source["type"] == "choice" and when["equals"] not in source["choices"]:
                problems.append(
                    f"{name!r}: {when['equals']!r} is not one of {when['key']!r}'s choices."
                )
            elif source["type"] not in ("yes_no", "choice"):
                problems.append(
                    f"{name!r}: a question can depend only on a yes/no or choice question."
                )
        earlier[key] = question


# ------------------------------------------------------------------------------------------------
# JSON Schema
# ------------------------------------------------------------------------------------------------


def json_schema(definition: list[dict], *, title: str = "") -> dict:
    """The answers' JSON Schema: every question a property, in the form's order."""
    schema = {"$schema": SCHEMA_DIALECT, **_object_schema(definition)}
    if title:
        schema["title"] = title
    return schema


def _object_schema(questions: list[dict]) -> dict:
    schema: dict = {
        "type": "object",
        "properties": {q["key"]: _question_schema(q) for q in questions},
        "additionalProperties": False,
    }
    required = [q["key"] for q in questions if q["required"] and not q.get("when")]
    if required:
        schema["required"] = required
    conditions = []
    for question in questions:
        when = question.get("when")
        if when and question["required"]:
            conditions.append(
                {
                    "if": {
                        "properties": {when["key"]: {"const": when["equals"]}},
                        "required": [when["key"]],
                    },
                    "then": {"required": [question["key"]]},
                }
            )
    if conditions:
        schema["allOf"] = conditions
    return schema


def _question_schema(question: dict) -> dict:
    kind = question["type"]
    schema: dict = {"title": question["label"], "x-hms-type": kind}
    if question.get("help"):
        schema["description"] = question["help"]
    if question.get("when"):
        schema["x-hms-shown-when"] = question["when"]
    if kind in ("text", "long_text"):
        maximum = MAX_TEXT if kind == "text" else MAX_LONG_TEXT
        schema.update(type="string", minLength=1, maxLength=maximum)
    elif kind == "number":
        schema["type"] = "number"
    elif kind == "money":
        schema.update(type="string", pattern=MONEY_PATTERN)
    elif kind == "date":
        schema.update(type="string", format="date")
    elif kind == "choice":
        schema.update(type="string", enum=list(question["choices"]))
    elif kind == "yes_no":
        schema["type"] = "boolean"
    elif kind == "file":
        schema.update(type="string", format="uuid")
    elif kind == "group":
        schema.update(
            type="array",
            items=_object_schema(question["questions"]),
            maxItems=MAX_GROUP_ENTRIES,
        )
        if question["required"]:
            schema["minItems"] = 1
    return schema


# ------------------------------------------------------------------------------------------------
# Answers
# ------------------------------------------------------------------------------------------------


def visible_answers(definition: list[dict], answers: dict) -> dict:
    """The answers without those to questions whose condition is not met (nor to none)."""
    if not isinstance(answers, dict):
        return answers
    kept = {}
    by_key = {q["key"]: q for q in definition}
    for key, value in answers.items():
        question = by_key.get(key)
        if question is None:
            kept[key] = value  # not a question: left for validation to name
            continue
        when = question.get("when")
        if when and answers.get(when["key"]) != when["equals"]:
            continue
        if question["type"] == "group" and isinstance(value, list):
            value = [visible_answers(question["questions"], entry) for entry in value]
        kept[key] = value
    return kept


def answer_errors(
    definition: list[dict],
    answers: dict,
    *,
    complete: bool,
    documents: Iterable[str] = (),
) -> dict[str, ErrorDetail]:
    """`{"answers.<path>": error}`, one per invalid (or, when `complete`, missing) answer.

    A draft saves partial answers (`complete=False`: nothing is required yet, but what is
    answered must be valid); a submission needs every required answer. `documents` are the ids
    of the files uploaded to the application, which file questions may name.
    """
    # Imported where answers are checked, not with the module: jsonschema (and attrs, rpds and
    # referencing under it) is ~3 MiB in each web worker, and most of them only read.
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(
        json_schema(definition), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    errors: dict[str, ErrorDetail] = {}
    for error in validator.iter_errors(answers):
        if error.validator in ("required", "minItems", "minLength") and not complete:
            continue
        path = ["answers", *map(str, error.absolute_path)]
        if error.validator == "required":
            for key in error.validator_value:
                if isinstance(error.instance, dict) and key not in error.instance:
                    errors.setdefault(
                        ".".join([*path, key]), _error("This question is required.", "required")
                    )
        elif error.validator == "additionalProperties":
            for key in set(error.instance) - set(error.schema.get("properties", {})):
                errors.setdefault(
                    ".".join([*path, str(key)]),
                    _error("This is not a question on this form.", "unknown_question"),
                )
        elif error.validator == "minItems":
            errors.setdefault(".".join(path), _error("Add at least one entry.", "required"))
        elif error.validator == "minLength":
            errors.setdefault(".".join(path), _error("This question is required.", "required"))
        else:
            kind = error.schema.get("x-hms-type") if isinstance(error.schema, dict) else None
            message = _SHAPE_MESSAGES.get(kind) or error.message
            errors.setdefault(".".join(path), _error(message, "invalid"))
    uploaded = set(documents)
    for path, value in _file_answers(definition, answers, ["answers"]):
        if path not in errors and value not in uploaded:
            errors[path] = _error(
                "No document with this id is attached to this application: upload it first.",
                "unknown_document",
            )
    return errors


def _file_answers(definition: list[dict], answers, path: list[str]):
    if not isinstance(answers, dict):
        return
    for question in definition:
        value = answers.get(question["key"])
        if value is None:
            continue
        here = [*path, question["key"]]
        if question["type"] == "file" and isinstance(value, str):
            yield ".".join(here), value
        elif question["type"] == "group" and isinstance(value, list):
            for index, entry in enumerate(value):
                yield from _file_answers(question["questions"], entry, [*here, str(index)])


def answered_questions(definition: list[dict], answers: dict) -> list[dict]:
    """The questions shown to this applicant, in the form's order, each with its answer (None
    when unanswered), and a group's entries as lists of the same: what a caseworker reads."""
    shown = []
    answers = answers if isinstance(answers, dict) else {}
    for question in definition:
        when = question.get("when")
        if when and answers.get(when["key"]) != when["equals"]:
            continue
        value = answers.get(question["key"])
        entry = {**question, "answer": value}
        if question["type"] == "group":
            entry["entries"] = [
                answered_questions(question["questions"], item)
                for item in (value if isinstance(value, list) else [])
            ]
        shown.append(entry)
    return shown
