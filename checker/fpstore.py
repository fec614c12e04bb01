"""The seen-set of a fingerprint search in little memory, as TLC keeps it.

:class:`FingerprintStore` keeps each distinct state's 64-bit fingerprint in
one array-backed table (``FPSet``: about 11 to 21 bytes a state, built in C
with the fingerprints; a Python set of ints when the C part is not built) and
writes the link from each state to the state it was first reached from to a
file, 16 bytes a state. A counterexample is rebuilt as TLC does: follow the
links back from the violating state's fingerprint to an initial state, then
re-execute forwards from that initial state, at each step taking the
successor with the next fingerprint on the chain.

:class:`Frontier` holds one breadth-first level, writing batches of states
to disk once it holds more than a set number in memory.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
from array import array
from typing import Any, Callable, Iterator

from splitbrain.models.core import Model

try:
    from splitbrain.checker._fpcore import FPSet
except ImportError:
  # the C part is not built: the same set, in more memory

    class FPSet(set):  # type: ignore[no-redef]
        """A set of fingerprints (``add`` says whether the fingerprint was new)."""

        def add(self, fp: int) -> bool:  # type: ignore[override]
            if fp in self:
                return False
            super().add(fp)
            return True

        @property
        def nbytes(self) -> int:
            return self.__sizeof__() + 32 * len(self)


BUFFERED = 1 << 16  # links kept in memory before they are appended to the file
SCAN = 1 << 20  # links read at a time when following a chain back


class FingerprintStore(FPSet):
    """Seen fingerprints in a compact table; each state's link to its parent on disk.

    Used as the search's seen-set: ``fp in store``, ``len(store)`` (the
    table's own, in C), and
    ``store[fp] = (parent_fp, action)`` (the action is not kept: it is found
    again when the trace is rebuilt); ``store[fp] = (None, i)`` marks the i-th
    initial state.
    """

    def __init__(self) -> None:
        super().__init__()
        self.inits: dict[int, int] = {}  # fingerprint of an initial state -> its index
        self._dir = tempfile.TemporaryDirectory(prefix="splitbrain-fp-")
        self._fps = open(os.path.join(self._dir.name, "fingerprints"), "w+b")
        self._parents = open(os.path.join(self._dir.name, "parents"), "w+b")
        self._buf_fps, self._buf_parents = array("Q"), array("Q")
        self.on_disk = 0  # links written to the files

    def __setitem__(self, fp: int, link: tuple[Any, Any]) -> None:
        if not self.add(fp):
            return
        parent, label = link
        if parent is None:
            self.inits[fp] = label
        self._buf_fps.append(fp)
        self._buf_parents.append(0 if parent is None else parent)
        if len(self._buf_fps) >= BUFFERED:
            self._flush()

    @property
    def nbytes(self) -> int:
        """Bytes of memory the store holds (the table and the buffered links)."""
        return super().nbytes + 16 * len(self._buf_fps)

    def _flush(self) -> None:
        self._buf_fps.tofile(self._fps)
        self._buf_parents.tofile(self._parents)
        self.on_disk += len(self._buf_fps)
        self._buf_fps, self._buf_parents = array("Q"), array("Q")

    def _parent_of(self, fp: int) -> int:
        """The fingerprint of the state ``fp`` was first reached from."""
        self._fps.flush()
        self._fps.seek(0)
        base = 0
        while base < self.on_disk:
            chunk = array("Q")
            chunk.fromfile(self._fps, min(SCAN, self.on_disk - base))
            try:
                i = base + chunk.index(fp)
            except ValueError:
                base += len(chunk)
                continue
            self._parents.flush()
            self._parents.seek(8 * i)
            link = array("Q")
            link.fromfile(self._parents, 1)
            self._parents.seek(0, os.SEEK_END)
            self._fps.seek(0, os.SEEK_END)
            return link[0]
        self._fps.seek(0, os.SEEK_END)
        return self._buf_parents[self._buf_fps.index(fp)]  # ValueError: never added

    def chain(self, fp: int) -> tuple[int, list[int]]:
        """The initial state's index and the fingerprints from it to ``fp`` (the initial state's first)."""
        fps = [fp]
        while fps[-1] not in self.inits:
            fps.append(self._parent_of(fps[-1]))
        fps.reverse()
        return self.inits[fps[0]], fps

    def path(self, fp: int, model: Model, key: Callable[[Any], int]) -> tuple[int, list[Any]]:
        """The initial-state index and the actions that first reached the state ``fp``."""
        init, fps = self.chain(fp)
        state = next(s for i, s in enumerate(model.init_states()) if i == init)
        actions = []
        for want in fps[1:]:
            for action, nxt in model.successors(state):
                if key(nxt) == want:
                    actions.append(action)
                    state = nxt
                    break
            else:  # only a fingerprint collision or a nondeterministic model gets here
                raise RuntimeError(f"no successor of the state after {len(actions)} steps has fingerprint {want:#x}")
        return init, actions

    def close(self) -> None:
        """Delete the files."""
        self._fps.close()
        self._parents.close()
        self._dir.cleanup()


class Frontier:
    """States and their keys, in order; past ``limit`` states in memory, a batch is pickled to disk.

    Keys are fingerprints (``int_keys``, kept in an array) or any values. A
    batch that cannot be pickled (a state of a class pickle cannot find)
    stays in memory, and nothing more is written to disk.
    """

    def __init__(self, limit: int, *, int_keys: bool = False) -> None:
        self.limit = limit
        self._new_keys: Callable[[], Any] = (lambda: array("Q")) if int_keys else list
        self.states: list[Any] = []
        self.keys = self._new_keys()
        self._files: list[Any] = []
        self._count = 0
        self.spilled = 0  # batches written to disk

    def __len__(self) -> int:
        return self._count

    def append(self, state: Any, key: Any) -> None:
        self.states.append(state)
        self.keys.append(key)
        self._count += 1
        if len(self.states) >= self.limit:
            self._spill()

    def _spill(self) -> None:
        f = tempfile.TemporaryFile(prefix="splitbrain-frontier-")
        try:
            pickle.dump((self.states, self.keys), f, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, AttributeError, TypeError):
            f.close()
            self.limit = sys.maxsize
            return
        f.seek(0)
        self._files.append(f)
        self.spilled += 1
        self.states, self.keys = [], self._new_keys()

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        """Each (state, key) once, in order; what was on disk is deleted as it is read."""
        while self._files:
            f = self._files.pop(0)
            with f:
                states, keys = pickle.load(f)
            yield from zip(states, keys)
        states, keys, self.states, self.keys = self.states, self.keys, [], self._new_keys()
        yield from zip(states, keys)
