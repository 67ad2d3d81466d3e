"""The side-by-side figures of a benchmark run as one PNG (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path


def plot(figures: dict[str, dict[str, float]], path: Path) -> bool:
    """One horizontal bar chart per title (label -> value); False if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    charts = [(title, values) for title, values in figures.items() if values]
    height = sum(0.4 * len(values) + 1.0 for _, values in charts)
    fig, axes = plt.subplots(len(charts), 1, figsize=(9, max(height, 2.0)), squeeze=False)
    for ax, (title, values) in zip(axes[:, 0], charts, strict=True):
        labels = list(values)
        numbers = [values[k] for k in labels]
        bars = ax.barh(labels, numbers, color="#4c72b0")
        ax.bar_label(bars, labels=[f"{v:,.0f}" for v in numbers], padding=3, fontsize=8)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=10)
        ax.tick_params(labelsize=8)
        ax.margins(x=0.15)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
