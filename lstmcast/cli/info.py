"""``lstmcast info``: what a model file holds, as a table or JSON."""

from __future__ import annotations


def describe(model_path: str, max_mb: int | None = None) -> dict:
    from lstmcast.files import modelfile

    return modelfile.describe(model_path, max_mb)


def _updates(updates: list[dict]) -> str:
    """``3, last 2026-12-03T01:23:35Z: +161 rows, validation 0.2621 -> 0.2544``."""
    if not updates:
        return "none"
    u = updates[-1]
    before, after = u.get("val_loss_before"), u.get("val_loss_after")
    loss = (f", validation {before:.4g} -> {after:.4g}" if isinstance(before, float) and isinstance(after, float)
            else "")
    kept = " (weights kept)" if u.get("kept_old_weights") else ""
    return f"{len(updates)}, last {u.get('when')}: +{u.get('rows_added')} rows{loss}{kept}"


def _scored(entries: list[dict]) -> str:
    """``12 origins, 84 points, the newest up to 2015-12-31: MASE lstm 0.569, naive 0.741, ...``."""
    if not entries:
        return "none yet (update scores the new rows before it learns from them)"
    e = entries[-1]
    scores = ", ".join(f"{k} {v:.3g}" for k, v in e.get("scores", {}).items() if isinstance(v, (int, float)))
    return (f"{len(entries)} origins, {sum(x.get('points', 0) for x in entries)} points; the newest, up to "
            f"{e.get('until')}: {e.get('metric')} {scores}")


def _guard(guard: dict) -> str:
    """``on, 128 held-out windows: 4 lstm, 1 seasonal_naive (AAPL)``, or ``off``."""
    if not guard.get("enabled"):
        return "off (the network forecasts every series)"
    counts = ", ".join(f"{n} {m}" for m, n in sorted(guard.get("forecasts", {}).items(),
                                                   key=lambda kv: (kv[0] != "lstm", -kv[1])))
    named = guard.get("series") or {}
    pairs = [f"{k or 'the series'}: {v}" for k, v in list(named.items())[:5]]
    shown = f" ({', '.join(pairs)}{', ...' if len(named) > 5 else ''})" if named else ""
    from lstmcast.model import combiner

    rule = f"combiner ({guard['rule']}), " if guard.get("rule", "guard") != "guard" else ""
    members = f"; members' mean weight / held-out error: {combiner.line(guard['members'])}" if guard.get("members") else ""
    return f"on, {rule}{guard.get('windows')} held-out windows: {counts}{shown}{members}"


def _intervals(iv: dict) -> str:
    """``pool+positions, 1390 scores per level (80 % needs 4, 95 % 19, 99 % 99); realised
    coverage of 420 scored points: 80 % 76.2 (calibrated at 83.1), ...``."""
    need = ", ".join(f"{k} % {'needs ' if i == 0 else ''}{v}" for i, (k, v) in enumerate(iv.get("needed", {}).items()))
    line = f"{iv.get('calibration')}, {iv.get('scores_per_level')} scores per level ({need})"
    done = iv.get("realised") or {}
    if done:
        points = max(v["points"] for v in done.values())
        line += f"; realised coverage of {points} scored points: " + ", ".join(
            f"{k} % {v['coverage']:.1f} (calibrated at {v['calibrated_at']:.1f})" for k, v in done.items())
    return line


def print_table(doc: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=False, show_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in doc.items():
        if key == "validation_loss_by_epoch":
            value = f"{len(value)} epochs, last {value[-1] if value else '-'}"
        elif key == "updates":
            value = _updates(value)
        elif key == "scored_forecasts":
            value = _scored(value)
        elif key == "guard":
            value = _guard(value)
        elif key == "intervals":
            value = _intervals(value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
                              for k, v in value.items() if not isinstance(v, dict))
        table.add_row(key, str(value))
    import io
    import shutil

    from lstmcast.cli.output import to_stdout

    buffer = io.StringIO()
    Console(file=buffer, width=shutil.get_terminal_size((100, 24)).columns, force_terminal=False,
            no_color=True).print(table)
    to_stdout(buffer.getvalue())
