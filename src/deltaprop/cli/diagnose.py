"""``deltaprop train --diagnose``: findings before and after training, the monitor, and the report."""
from __future__ import annotations

import json

from .._files import atomic_path
from ..diagnostics.findings import findings_table
from .tables import print_table


def print_findings(title: str, findings) -> None:
    """The findings as a table (finding, layer, value), then what to do — once per kind of finding, wrapped to
    the terminal's width (the same advice for eight layers is said once)."""
    import shutil
    import textwrap

    print(f"{title}:")
    if not findings:
        print("  no finding: gradients flow, no dead or saturated layer")
        return
    rows = findings_table(findings)
    print_table(["finding", "layer", "value"], [row[:3] for row in rows])
    width = min(shutil.get_terminal_size((100, 24)).columns, 120) - 2
    advice = {}
    for kind, _, _, text in rows:
        advice.setdefault(text, []).append(kind)
    for text, kinds in advice.items():
        print(textwrap.fill(f"what to do ({', '.join(dict.fromkeys(kinds))}): {text}", width=width,
                            subsequent_indent="    "))


def attach(model, split, loss_name: str, folder, optimizer=None, batch_size: int | None = None):
    """Diagnose the untrained model now; return the monitor callback and the after-training step,
    which writes its files into the run's ``folder`` (a `run_folder.RunFolder`). After training the findings
    include the loss surface's: the learning rate of ``optimizer`` against 2/λ_max, ``batch_size`` against the
    gradient noise scale."""
    import deltaprop as dp

    before = dp.diagnose(model, split.X_train, split.y_train, loss_name)
    print_findings("gradient-flow findings before training", before)
    monitor = dp.TrainingMonitor()

    def after_training(history) -> list:
        after = dp.diagnose(model, split.X_train, split.y_train, loss_name, optimizer=optimizer,
                            train_batch_size=batch_size)
        print_findings("findings after training (gradient flow, learning rate, batch)", after)
        records = history.diagnostics
        written = []
        if records is not None and records.get("step"):
            with folder.writing("diagnostics.csv") as path:
                records.to_csv(path)
            with folder.writing("activations.npz") as path:
                records.save_activations(path)
            written += ["diagnostics.csv", "activations.npz"]
        layer_names = {str(index): layer.label for index, layer in enumerate(model.layers)}
        document = {"findings": {"before": [vars(f) for f in before], "after": [vars(f) for f in after]},
                    "layer_names": layer_names}
        with folder.writing("findings.json") as path, atomic_path(path) as temporary, \
                open(temporary, "w") as handle:
            json.dump(document, handle, indent=1)
        from ..diagnostics.report import write_report

        with folder.writing("report.html"):
            write_report(folder.staging, name=folder.final)
        return written + ["findings.json", "report.html"]

    return [monitor], after_training
