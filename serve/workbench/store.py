"""The workbench's in-memory store of analysed articles, batches and queues, bounded (oldest dropped
first), under random ids that a request cannot guess or choose.

Nothing here touches the disk: articles and batches live only as long as the server (or until pushed
out); corrections are what is kept (see :mod:`.corrections`).

>>> s = Store(max_items=2)
>>> a, b, c = s.put("article", {"n": 1}), s.put("article", {"n": 2}), s.put("article", {"n": 3})
>>> s.get("article", a) is None, s.get("article", c)["n"]
(True, 3)
"""
from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict

ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class Store:
    """Items by kind and id; at most ``max_items`` of all kinds together, and at most ``max_chars`` of
    article text (``size`` as given to :meth:`put`)."""

    def __init__(self, max_items: int = 200, max_chars: int = 200_000_000):
        self.max_items, self.max_chars = max_items, max_chars
        self._items: OrderedDict[tuple[str, str], tuple[int, dict]] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def put(self, kind: str, item: dict, size: int = 0) -> str:
        """Keep ``item`` and return its new id.

        >>> len(Store().put("batch", {}))
        16
        """
        key = secrets.token_urlsafe(12)
        with self._lock:
            self._items[(kind, key)] = (size, item)
            self._chars += size
            while len(self._items) > self.max_items or (self._chars > self.max_chars and len(self._items) > 1):
                _, (old, _) = self._items.popitem(last=False)
                self._chars -= old
        return key

    def get(self, kind: str, key: str) -> dict | None:
        """The item, or None when the id is malformed, unknown or pushed out.

        >>> Store().get("article", "../etc") is None
        True
        """
        if not isinstance(key, str) or not ID.match(key):
            return None
        with self._lock:
            found = self._items.get((kind, key))
            if found is None:
                return None
            self._items.move_to_end((kind, key))
            return found[1]

    def recent(self, kind: str, n: int = 10) -> list[tuple[str, dict]]:
        """The ``n`` most recently used items of one kind, newest first.

        >>> s = Store(); k = s.put("batch", {"name": "x"}); s.recent("batch")[0][0] == k
        True
        """
        with self._lock:
            return [(k, v[1]) for (kind_, k), v in reversed(self._items.items()) if kind_ == kind][:n]
