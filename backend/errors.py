"""Error responses: every refusal is a 4xx whose ``detail`` says what was wrong and what is accepted.

- Validation (422): one readable line per problem, naming the field, the type it takes and what was sent
  ("body.valence: must be a number, got boolean true"); pydantic's structured list stays under ``errors``.
- Bodies that cannot be parsed (400): JSON nested past what the parser recurses into, or not UTF-8. FastAPI reads a
  JSON body with json.loads, which raises RecursionError on [[[[...]]]] a thousand levels deep; FastAPI turns any such
  error into a bare 400 "There was an error parsing the body" (raised from the original error, which is how it is
  recognised here). The normal path costs nothing: this only runs once a request has failed.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

MAX_LINES = 8  # problems spelled out in ``detail``; ``errors`` keeps up to 50
TOO_DEEP = (f"request body nests arrays or objects deeper than the JSON parser goes (under {sys.getrecursionlimit():,} "
            "levels); this API's bodies nest 3 levels at most")
NOT_UTF8 = "request body is not UTF-8 text; send JSON encoded as UTF-8"

# pydantic error type -> what the field takes (the others keep pydantic's message, "Input should be" made "must be")
TAKES = {
    "float_type": "must be a number", "float_parsing": "must be a number",
    "int_type": "must be an integer", "int_parsing": "must be an integer", "int_from_float": "must be an integer",
    "string_type": "must be a string", "bool_type": "must be true or false", "bool_parsing": "must be true or false",
    "list_type": "must be an array", "dict_type": "must be an object", "model_type": "must be an object",
    "model_attributes_type": "must be an object", "missing": "is required",
    "extra_forbidden": "is not a field of this request (unknown fields are refused)",
}
NO_GOT = ("missing", "value_error", "assertion_error")  # their input is the whole enclosing object


def describe(value: Any) -> str:
    """A sent value as its JSON type and a short rendering: boolean true, string "3", number 1.5, an array of 3."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"number {value!r}"
    if isinstance(value, str):
        shown = json.dumps(value[:40]) + ("..." if len(value) > 40 else "")
        return f"string {shown}"
    if isinstance(value, (list, tuple)):
        return f"an array of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def problem_line(err: dict) -> str:
    """One pydantic error as "loc: what it takes, got what was sent"."""
    where = ".".join(str(p) for p in err.get("loc", ())) or "body"
    kind = err.get("type", "")
    if kind == "json_invalid":
        return f"body: not valid JSON at character {err['loc'][-1]} ({err.get('ctx', {}).get('error', 'bad syntax')})"
    msg = TAKES.get(kind) or str(err.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ").replace("Input should be", "must be", 1)
    if kind in NO_GOT:
        return f"{where}: {msg}"
    got = err.get("input")
    if err.get("loc", ("body",))[0] != "body" and isinstance(got, str):  # path, query, form text: always strings
        return f"{where}: {msg}, got {got[:40]!r}"
    return f"{where}: {msg}, got {describe(got)}"


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 whose detail is one readable line per problem, with the structured list (no inputs echoed) under errors."""
    errors = exc.errors()
    detail = "; ".join(problem_line(e) for e in errors[:MAX_LINES])
    if len(errors) > MAX_LINES:
        detail += f"; and {len(errors) - MAX_LINES} more"
    safe = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in errors[:50]]
    return JSONResponse({"detail": detail, "errors": safe}, status_code=422)


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """FastAPI's HTTP error response, with the reason a body could not be parsed put back into its detail."""
    if isinstance(exc.__cause__, RecursionError):
        return JSONResponse({"detail": TOO_DEEP}, status_code=400)
    if isinstance(exc.__cause__, UnicodeDecodeError):
        return JSONResponse({"detail": NOT_UTF8}, status_code=400)
    return await http_exception_handler(request, exc)


def parse_json(raw: bytes, expected: str) -> Any:
    """A body read by hand (the encode route takes multipart or JSON) -> its JSON value, or the same 4xx as above."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise HTTPException(400, TOO_DEEP) from None
    except UnicodeDecodeError:
        raise HTTPException(400, NOT_UTF8) from None
    except ValueError as e:
        raise HTTPException(422, f"body: not valid JSON ({str(e)[:200]}); expected {expected}") from None
