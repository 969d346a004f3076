"""The live controls: what a key press means. Kept apart from the window so it can be tested without a display."""

from __future__ import annotations

ACTIONS: tuple[str, ...] = (
    "quit",
    "next_style",
    "prev_style",
    "toggle_stylize",
    "toggle_temporal",
    "strength_up",
    "strength_down",
    "temporal_up",
    "temporal_down",
    "toggle_colors",
    "next_mask",
)

KEYMAP: dict[str, str] = {
    "q": "quit",
    "\x1b": "quit",  # Esc
    "n": "next_style",
    "p": "prev_style",
    " ": "toggle_stylize",
    "t": "toggle_temporal",
    "+": "strength_up",
    "=": "strength_up",  # '+' without shift on most layouts
    "-": "strength_down",
    "]": "temporal_up",
    "[": "temporal_down",
    "c": "toggle_colors",
    "m": "next_mask",
}

# Right/left arrows as cv2.waitKeyEx reports them (X11/GTK, Windows, macOS).
_ARROWS = {65363: "next_style", 2555904: "next_style", 63235: "next_style",
           65361: "prev_style", 2424832: "prev_style", 63234: "prev_style"}

HELP = "n/p style  space stylize  t temporal  +/- strength  [/] temporal strength  c colours  m mask  q quit"


def action_for_key(code: int) -> str | None:
    """Map a ``cv2.waitKeyEx`` code to one of ``ACTIONS`` (None for keys with no meaning and for 'no key': -1)."""
    if code < 0:
        return None
    if code in _ARROWS:
        return _ARROWS[code]
    char = chr(code & 0xFF)
    return KEYMAP.get(char.lower() if char.isalpha() else char)
