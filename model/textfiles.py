"""Reading untrusted text files with bounded memory and errors that name the file and line.

Every loader in ``narratives`` goes through these helpers:

* :func:`bounded_lines` yields the lines of a binary file, reading at most ``limit`` bytes of any one
  line into memory; a longer line is skipped in blocks and reported (``None``), so a 100 MB line costs
  no more memory than a short one;
* :func:`read_jsonl` is the one JSON Lines reader (label files, article input, reference files): one
  ``(line number, object, problem)`` per non-blank line, never raising on a bad line;
* :func:`read_small_text` reads a whole configuration file (YAML, JSON) after checking its size, drops a
  UTF-8 byte-order mark and names the line of any invalid UTF-8;
* :func:`load_yaml` and :func:`load_json` parse such text, refusing duplicate keys (which YAML and JSON
  parsers otherwise resolve silently to the last one); :func:`check_json_value` refuses what JSON parsed
  from untrusted input must not carry further (nesting past ``MAX_JSON_DEPTH``, ``NaN`` and infinities,
  lone surrogates), iteratively, so a deep value cannot exhaust the stack;
* :func:`open_regular` opens a path for reading only if it is a regular file (a FIFO or device would
  block or never end).

CRLF line endings need no special care: JSON and YAML treat ``\\r`` as whitespace.

>>> import io
>>> [(no, line) for no, line in bounded_lines(io.BytesIO(b"ab\\r\\n" + b"x" * 9 + b"\\nc"), 5)]
[(1, b'ab\\r\\n'), (2, None), (3, b'c')]
"""
from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, cast

BOM = b"\xef\xbb\xbf"
BLOCK = 1 << 20  # bytes read at a time while skipping an over-long line
MAX_CONFIG_BYTES = 1_000_000  # taxonomy.yaml, targets.yaml, a model's config.json and manifest.json
MAX_JSON_DEPTH = 64  # nesting of a JSON value from untrusted input (articles, request bodies, model files)


def open_regular(path: str | Path) -> IO[bytes]:
    """Open ``path`` for binary reading if it is a regular file; ``OSError`` otherwise (a FIFO, device or
    folder is refused without blocking: it is opened non-blocking and checked with ``fstat``).

    >>> open_regular("/dev/null")
    Traceback (most recent call last):
    ...
    OSError: not a regular file
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_json_value(value: Any, max_depth: int = MAX_JSON_DEPTH, strict: bool = True) -> str | None:
    """Why a parsed JSON value may not be passed on, or ``None``: nested more than ``max_depth`` levels,
    a ``NaN`` or infinite number (Python's parser reads ``NaN``, ``Infinity`` and ``1e999``; strict JSON
    has none of them), or a string or key with a lone surrogate (it cannot be written as UTF-8); with
    ``strict=False`` only the nesting is checked. Iterative, so a value nested 100,000 levels costs no stack.

    >>> check_json_value({"a": [1.5, "ok"]}) is None
    True
    >>> check_json_value({"a": float("nan")})
    'a number that is NaN or infinite'
    >>> check_json_value([[[1]]], max_depth=2)
    'JSON nested more than 2 levels'
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (dict, list)):
            if depth > max_depth:
                return f"JSON nested more than {max_depth} levels"
            if isinstance(v, dict):
                stack.extend((k, depth) for k in v)
                stack.extend((x, depth + 1) for x in v.values())
            else:
                stack.extend((x, depth + 1) for x in v)
        elif not strict:
            continue
        elif isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
            return "a number that is NaN or infinite"
        elif isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return "a lone surrogate in a string (not valid Unicode)"
    return None


def bounded_lines(fh: IO[bytes], limit: int) -> Iterator[tuple[int, bytes | None]]:
    """``(line_number, line)`` for each line of ``fh`` (newline kept); ``line`` is ``None`` for a line of
    more than ``limit`` bytes (newline not counted), which is skipped without being held in memory."""
    no = 0
    while True:
        line = fh.readline(limit + 1)
        if not line:
            return
        no += 1
        if len(line) <= limit or line.endswith(b"\n"):  # at most ``limit`` bytes before the newline
            yield no, line
            continue
        while not line.endswith(b"\n"):  # skip the rest of the over-long line
            line = fh.readline(BLOCK)
            if not line:
                break
        yield no, None


def _numbered(fh: IO[bytes] | Iterable[str] | Iterable[bytes], limit: int) -> Iterator[tuple[int, str | bytes | None]]:
    """Lines of a binary file read with bounded memory (``None`` for one over ``limit``); other lines as given."""
    read = getattr(fh, "read", None)
    if read is not None and isinstance(read(0), bytes):
        yield from bounded_lines(fh, limit)  # type: ignore[arg-type]
        return
    for no, line in enumerate(fh, 1):
        text = cast("str | bytes", line)  # an iterable of str or of bytes
        yield no, None if len(text) > limit else text


def read_jsonl(fh: IO[bytes] | Iterable[str] | Iterable[bytes], limit: int,
               too_long: str | None = None) -> Iterator[tuple[int, dict | None, str | None]]:
    """``(line number, object, None)`` for each non-blank line of JSON Lines that holds a JSON object, and
    ``(line number, None, problem)`` for one that cannot be read: over ``limit`` bytes (skipped without
    being held in memory; ``too_long`` is the message, by default the limit), not UTF-8, malformed JSON
    (also a key given twice, or nesting too deep for the parser), or another JSON value. ``fh`` is a
    binary file or any iterable of lines; a byte-order mark before the first line is dropped. Never raises
    on a bad line.

    >>> import io
    >>> for row in read_jsonl(io.BytesIO(b'\\xef\\xbb\\xbf{"a": 1}\\n\\n[2]\\n{"a": 1, "a": 2}\\n\\xff\\n'), 100):
    ...     print(row)
    (1, {'a': 1}, None)
    (3, None, 'expected a JSON object, got list')
    (4, None, "malformed JSON: duplicate key 'a'")
    (5, None, 'not valid UTF-8 (invalid start byte at byte 0)')
    """
    for no, line in _numbered(fh, limit):
        if line is None:
            yield no, None, too_long or f"line is over {limit:,} bytes"
            continue
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield no, None, f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
                continue
        if no == 1:
            line = line.lstrip(BOM.decode("utf-8"))
        if not line.strip():
            continue
        try:
            value = load_json(line)
        except json.JSONDecodeError as exc:
            yield no, None, f"malformed JSON: {exc.msg} (column {exc.colno})"
            continue
        except ValueError as exc:  # a key given twice
            yield no, None, f"malformed JSON: {exc}"
            continue
        except RecursionError:
            yield no, None, "malformed JSON: nested too deeply"
            continue
        if not isinstance(value, dict):
            yield no, None, f"expected a JSON object, got {type(value).__name__}"
            continue
        yield no, value, None


def utf8_error(raw: bytes, exc: UnicodeDecodeError, offset: int = 0) -> str:
    """A message for invalid UTF-8 that names the line (1-based) and byte of ``raw`` where it starts.

    >>> try:
    ...     b"ok\\ncaf\\xe9".decode("utf-8")
    ... except UnicodeDecodeError as exc:
    ...     print(utf8_error(b"ok\\ncaf\\xe9", exc))
    line 2: not valid UTF-8 (unexpected end of data at byte 6)
    """
    line = raw.count(b"\n", 0, exc.start) + 1
    return f"line {line}: not valid UTF-8 ({exc.reason} at byte {exc.start + offset})"


def read_small_text(path: str | Path, limit: int) -> str:
    """The text of a UTF-8 configuration file of at most ``limit`` bytes, byte-order mark removed.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` (message ``"PATH: ..."``, naming the
    line for invalid UTF-8) for a file too large or not UTF-8. The size is checked before reading.
    """
    p = Path(path)
    with open(p, "rb") as fh:
        raw = fh.read(limit + 1)
    if len(raw) > limit:
        raise ValueError(f"{p}: file is over {limit:,} bytes; refusing to read it")
    if raw.startswith(BOM):
        raw = raw[len(BOM):]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{p}: {utf8_error(raw, exc)}") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def load_json(text: str) -> Any:
    """``json.loads`` that refuses duplicate keys (``ValueError``; ``JSONDecodeError`` names line and column).

    >>> load_json('{"a": 1, "a": 2}')
    Traceback (most recent call last):
    ...
    ValueError: duplicate key 'a'
    """
    return json.loads(text, object_pairs_hook=_no_duplicates)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_json_strict(text: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """JSON from untrusted input, refused (``ValueError``) unless it is strict JSON that can be passed
    on: no key given twice, no ``NaN``/``Infinity`` or number too large for a float (``1e999``), no lone
    surrogate, at most ``max_depth`` levels of nesting (also no ``RecursionError``, however deep).

    >>> load_json_strict('{"a": [1, "x"]}')
    {'a': [1, 'x']}
    >>> load_json_strict('{"a": NaN}')
    Traceback (most recent call last):
    ...
    ValueError: NaN is not a JSON number
    """
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    why = check_json_value(value, max_depth)
    if why is not None:
        raise ValueError(why)
    return value


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` that refuses duplicate mapping keys, naming the line (raises ``yaml.YAMLError``).

    >>> load_yaml("a: 1\\nb: [x]\\n")
    {'a': 1, 'b': ['x']}
    """
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    def construct_mapping(loader, node, deep=False):
        loader.flatten_mapping(node)
        seen: set = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            try:
                dup = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key; the constructor below reports it
                dup = False
            if dup:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (line {key_node.start_mark.line + 1})", key_node.start_mark)
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def atomic_write_text(path: Path, text: str, exclusive: bool = False) -> None:
    """Replace a text file atomically (temp file beside it, fsync, rename), keeping its permissions.

    With ``exclusive`` the file must not exist yet: the complete temp file is linked into place, so of two
    writers racing for one name the second gets :class:`FileExistsError` instead of replacing the first.
    """
    path = Path(path)
    mask = os.umask(0)
    os.umask(mask)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~mask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if exclusive:
            os.link(tmp, path)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
