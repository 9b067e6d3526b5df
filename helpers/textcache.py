"""Faster widget redraws: texts whose string was drawn before are pasted from a pixel cache.

Rendering a line of text costs matplotlib far more than a line or an image: every glyph is
rasterised again on every draw. A title usually cycles through a few strings, so a widget
can keep, per string, a snapshot of the pixels it covered and paste it back (restore_region),
which is almost free. The snapshot includes the static background under the text, so it is
only valid while that background is unchanged: the cache is emptied whenever the figure is
redrawn in full, and cached texts must not overlap other changing artists.
"""
from __future__ import annotations

from .live import LiveFigure


class CachedTextFigure(LiveFigure):
    """A LiveFigure whose texts marked with cache_text() are drawn from a per-string pixel cache."""

    MAX_ENTRIES = 200

    def cache_text(self, *texts) -> None:
        """Animate these Text artists and draw them from the cache when their string repeats."""
        self.animate(*texts)
        self._cached = getattr(self, "_cached", set()) | {id(t) for t in texts}
        self._snapshots: dict = {}

    def render(self) -> bytes:
        """As LiveFigure.render, with cached texts pasted instead of re-rasterised."""
        from .live import canvas_png

        canvas = self.fig.canvas
        if self._background is None:
            canvas.draw()
            self._background = canvas.copy_from_bbox(self.fig.bbox)
            self._snapshots = {}
        else:
            canvas.restore_region(self._background)
        cached = getattr(self, "_cached", set())
        for artist in self._dynamic:
            if not artist.get_visible():
                continue
            if id(artist) in cached:
                self._draw_text(artist)
            else:
                self.fig.draw_artist(artist)
        return canvas_png(canvas)

    def _draw_text(self, text) -> None:
        canvas = self.fig.canvas
        key = (id(text), text.get_text())
        snapshot = self._snapshots.get(key)
        if snapshot is not None:
            canvas.restore_region(snapshot)
            return
        self.fig.draw_artist(text)
        if len(self._snapshots) < self.MAX_ENTRIES and text.get_text():
            box = text.get_window_extent(canvas.get_renderer()).expanded(1.0, 1.0).padded(2)
            self._snapshots[key] = canvas.copy_from_bbox(box)
