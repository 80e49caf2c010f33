"""How tables and figures write numbers."""


def dimension_text(d: float) -> str:
    """A d: whole with thousands separators; two significant digits below 10, where RL's crossings and intervals
    live (an interval reaching below d = 1 shows as such, not as 0)."""
    return f"{d:,.0f}" if d >= 10 else f"{d:.2g}"
