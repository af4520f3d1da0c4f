"""Bar charts drawn on the server as SVG, for staff pages: no script, nothing inline for the CSP to refuse, and
geometry computed here so the template only places numbers. Each chart is shown with a table of its figures
(templates/admin/includes/_bar_chart.html), which screen readers and spreadsheets use instead of the picture."""

from dataclasses import dataclass, field

LABEL_WIDTH = 110  # room for a month name or an income band before the bars start
BAR_AREA = 400
BAR_HEIGHT = 14
GAP = 4
ROW_PADDING = 8


@dataclass
class Bar:
    value: float | None
    text: str
    series: int = 0
    y: int = 0
    width: float = 0


@dataclass
class Row:
    label: str
    bars: list[Bar]
    y: int = 0


@dataclass
class BarChart:
    """Horizontal bars, one row per label and one bar per series in each row. `maximum` fixes the scale
    (100 for rates in percent); by default it is the largest value."""

    id: str
    title: str
    description: str
    rows: list[Row]
    series: list[str] = field(default_factory=list)
    maximum: float | None = None
    height: int = 0
    width: int = LABEL_WIDTH + BAR_AREA + 60
    label_width: int = LABEL_WIDTH

    def __post_init__(self):
        values = [bar.value for row in self.rows for bar in row.bars if bar.value is not None]
        scale = self.maximum or max(values, default=0) or 1
        per_row = max((len(row.bars) for row in self.rows), default=1)
        row_height = per_row * (BAR_HEIGHT + GAP) + ROW_PADDING
        for index, row in enumerate(self.rows):
            row.y = index * row_height
            for position, bar in enumerate(row.bars):
                bar.y = position * (BAR_HEIGHT + GAP)
                bar.width = round(BAR_AREA * (bar.value or 0) / scale, 1)
        self.height = max(len(self.rows) * row_height, row_height)

    @property
    def bar_height(self) -> int:
        return BAR_HEIGHT
