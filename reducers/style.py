"""The one plot style of MAUS Online, shared by the matplotlib and the ROOT reducers.

Both back ends read their sizes, colours and margins from here, so a TOF plot drawn by
matplotlib and the same plot drawn by ROOT look alike on the dashboard. Sizes are in pixels
of the 640 x 480 image: the front-end shows thumbnails ~400 px wide, where a 18 px axis title
is still ~11 px high and readable; the same image fills a slide at full size.
"""
from __future__ import annotations

#: Image size in pixels, and the resolution matplotlib uses to turn points into pixels.
WIDTH, HEIGHT = 640, 480
DPI = 100

#: Text sizes in pixels: plot title and axis titles, tick labels and legend, small notes.
TITLE_PX = 19
LABEL_PX = 18
TICK_PX = 16
NOTE_PX = 15

#: Frame of the plot area as fractions of the image (left, bottom, right, top), with room for
#: the axis titles; 2D plots leave room on the right for the colour bar.
FRAME = (0.135, 0.135, 0.95, 0.905)
FRAME_2D = (0.135, 0.135, 0.835, 0.905)
#: The colour bar of 2D plots: (left, bottom, width, height) as fractions of the image.
COLOUR_BAR = (0.855, 0.135, 0.03, 0.77)

#: Okabe-Ito colours, told apart by colour-blind readers too; one per histogram of a plot,
#: in order (so TOF0, TOF1, TOF2 have the same colour on every plot).
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
#: Line styles of the histograms of a plot, in the same order: overlaid histograms with the
#: same contents (three stations seeing every particle) stay visible, in print too.
#: matplotlib names and the ROOT line style numbers of the same patterns.
LINE_STYLES = ("solid", (0, (5, 2.5)), (0, (1.2, 1.8)), (0, (6, 2, 1.2, 2)))
ROOT_LINE_STYLES = (1, 2, 3, 4)
#: Fill under a lone histogram: a light tint of the first colour (opaque: EPS has no alpha).
FILL = "#CCE3F0"
#: Reference lines (expected peak positions) and the "no entries yet" note.
MARK_COLOUR = "#555555"
NOTE_COLOUR = "#777777"
GRID_COLOUR = "#D9D9D9"
#: Colour map of 2D plots, known to both back ends; empty bins stay white.
COLOUR_MAP = "viridis"
LINE_WIDTH = 1.8  # points (matplotlib); ROOT takes ROOT_LINE_WIDTH pixels
ROOT_LINE_WIDTH = 2
#: The reference run's outlines (reducers.reference): dashed, thinner, in the colour of the
#: histogram they belong to, so that they read as "what it looked like" behind the data.
#: ROOT's style 7 is its medium dash, apart from the 2, 3, 4 of overlaid histograms.
REFERENCE_LINE_STYLE = (0, (3.5, 2.0))
ROOT_REFERENCE_LINE_STYLE = 7
REFERENCE_LINE_WIDTH = 1.2
ROOT_REFERENCE_LINE_WIDTH = 1


def run_label(run_number: object, spills_seen: int) -> str:
    """The note at the top right of every plot: ``"Run 7, 100 spills"``."""
    run = "?" if run_number is None else run_number
    return f"Run {run}, {spills_seen} spill{'' if spills_seen == 1 else 's'}"


def points(pixels: float) -> float:
    """A size in pixels of the image as matplotlib points (1 pt = DPI/72 px)."""
    return pixels * 72.0 / DPI
