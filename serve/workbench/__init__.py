"""The analyst's workbench: read, check and correct the model's calls in a browser, served by the same
app as the API (``narratives serve``, then open ``/``).

Server-rendered Jinja2 templates with a little vanilla JavaScript and CSS, all in this package (no CDN,
no build step). See :mod:`.routes` for the pages, :mod:`.corrections` for the labels file it writes and
:mod:`.guard` for the token, origin check and Content-Security-Policy.

>>> from narratives.serve.workbench import mount_workbench
>>> callable(mount_workbench)
True
"""
from .routes import mount_workbench

__all__ = ["mount_workbench"]
