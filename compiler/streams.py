"""Standard output as command-line tools treat it: a reader that went away is not an error.

`python -m compiler explain app_qa_mx | head -1` closes the pipe before everything is written;
the command's work is done (or goes on), so nothing is said and its exit code stands. Python
raises BrokenPipeError on the next write or flush, possibly only when it flushes stdout at exit
(then "Exception ignored ..." and exit 120). As the Python docs recommend (signal module, "Note
on SIGPIPE"), stdout is then pointed at os.devnull, so every later write and the final flush
succeed. Any other failure (`list > /dev/full`) is an error that names standard output.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, Iterator, TextIO


class StdoutError(Exception):
    """Standard output cannot be written (a full disk, an I/O error)."""

    def __init__(self, error: OSError):
        super().__init__(f"standard output: {error.strerror or error}")


def _to_devnull(stream: TextIO) -> None:
    """Send whatever `stream` still holds, and everything after, to os.devnull."""
    try:
        descriptor = stream.fileno()
    except (OSError, ValueError):  # io.StringIO in tests: nothing at the other end to close
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


class _Guarded:
    """A text stream that turns a closed pipe into silence, and other failures into StdoutError."""

    def __init__(self, stream: TextIO):
        self._stream = stream

    def _guard(self, operation, *args: Any) -> Any:
        try:
            return operation(*args)
        except BrokenPipeError:
            _to_devnull(self._stream)
        except OSError as error:
            _to_devnull(self._stream)  # said once; the interpreter's last flush must not fail again
            raise StdoutError(error) from None
        return None

    def write(self, text: str) -> int:
        self._guard(self._stream.write, text)
        return len(text)

    def flush(self) -> None:
        self._guard(self._stream.flush)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def guarded_stdout() -> Iterator[None]:
    """sys.stdout guarded for the block, and flushed at its end: a failure is raised there, where
    the command line reports it, and nothing is left for the interpreter's flush at exit."""
    stream = sys.stdout
    guarded = _Guarded(stream)
    sys.stdout = guarded  # type: ignore[assignment]
    try:
        yield
        guarded.flush()
    except BaseException:
        with contextlib.suppress(StdoutError):  # the error under way is the one to report
            guarded.flush()
        raise
    finally:
        sys.stdout = stream
