"""Every session-state and URL key the pages use, in one place.

Pages share exactly one thing through the session: the current ``Example`` (``EXAMPLE``), which
the explorer and the landscape both read and write, plus the language (``LANG``). Every widget key
carries its page's prefix, so a widget on one page never changes another page: the training page's
loss is ``TRAINING_LOSS``, never the bare ``"loss"`` (which is the example's URL key).

URL keys: the example's own (``Example.to_query``: ``loss``, ``reduction``, ``transform``, ``t_<slot>``,
``s_<slot>``, ``p_<param>``, ``ex``), ``lang``, and each page's prefixed view keys. Links store keys
(element indices such as ``input:3``, loss names, tab names), never display labels.

Example:
    >>> owns("ls_res", LANDSCAPE), owns("loss", LANDSCAPE)
    (True, False)
"""

from __future__ import annotations

# --- shared by every page
EXAMPLE = "lossviz_example"  #: the one lossviz.explore.Example of this session
LANG = "lossviz_lang"  #: "en" or "zh"
LANG_QUERY = "lang"  #: the URL key of the language
PRESENT = "lossviz_present"  #: presentation mode (bool), shared by every page
PRESENT_QUERY = "present"  #: its URL key (present=1)
LINK_NOTES = "lossviz_notes"  #: sentences about a link's unusable values, shown once

# --- widget prefixes, one per page
EXPLORER = "w_"
LANDSCAPE = "ls_"
TRAINING = "tr_"
LESSONS = "le_"

# --- the explorer
EXPLORER_SWITCH_NOTE = "lossviz_switch_note"  #: why a loss switch replaced the numbers
EXPLORER_LOSS = EXPLORER + "loss"
EXPLORER_LANG = EXPLORER + "lang"

# --- the landscape (each is also its URL key)
LANDSCAPE_LOSS = LANDSCAPE + "loss"
LANDSCAPE_REDUCTION = LANDSCAPE + "red"
LANDSCAPE_X = LANDSCAPE + "i"
LANDSCAPE_Y = LANDSCAPE + "j"
LANDSCAPE_RESOLUTION = LANDSCAPE + "res"
LANDSCAPE_RANGE = LANDSCAPE + "range"
LANDSCAPE_LR = LANDSCAPE + "lr"
LANDSCAPE_STEPS = LANDSCAPE + "steps"
LANDSCAPE_ARROWS = LANDSCAPE + "arrows"
LANDSCAPE_TAB = LANDSCAPE + "view"
LANDSCAPE_COMPARE = LANDSCAPE + "compare"
LANDSCAPE_MARGIN = LANDSCAPE + "margin"
LANDSCAPE_SEEN = "_" + LANDSCAPE + "seen"  #: set once the page has read its link
LANDSCAPE_SHOWN = "_" + LANDSCAPE + "shown"  #: the example the controls were set up for
#: the controls as last drawn (not a widget key, so it outlives a visit to another page, when Streamlit
#: drops the widgets' own keys and the sliders would come back at their minimums)
LANDSCAPE_SAVED = "_" + LANDSCAPE + "saved"

# --- the training page (every widget key starts with TRAINING)
TRAINING_LOSS = TRAINING + "loss"
TRAINING_SMOOTHING = TRAINING + "smooth"  #: the charts' smoothing slider
TRAINING_PRESET_QUERY = "preset"  #: a link that opens the training page with a preset (?preset=edge_of_stability)
EDGE_OF_STABILITY_PRESET = "edge_of_stability"  #: its one value so far
TRAINING_SMOOTHING_QUERY = "smooth"  #: its URL key (kept in the link when it is not the default)


def owns(key: str, prefix: str) -> bool:
    """Whether ``key`` belongs to the page whose widgets carry ``prefix``."""
    return str(key).startswith(prefix)

# --- the lessons page (each is also its URL key)
LESSON_KEY = "lesson"
LESSON_STEP = "step"
LESSON_POSITION = "_" + LESSONS + "pos"  #: (lesson key, 1-based step) of this session
