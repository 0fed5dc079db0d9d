"""``deltaprop train --diagnose``: findings before and after training, the monitor, and the report."""
from __future__ import annotations

import json
import os

from .._files import atomic_path
from ..diagnostics.findings import findings_table
from .tables import print_table


def print_findings(title: str, findings) -> None:
    print(f"{title}:")
    if not findings:
        print("  no finding: gradients flow, no dead or saturated layer")
        return
    print_table(["finding", "layer", "value", "what to do"], findings_table(findings))


def attach(model, split, loss_name: str, out: str):
    """Diagnose the untrained model now; return the monitor callback and the after-training step."""
    import deltaprop as dp

    before = dp.diagnose(model, split.X_train, split.y_train, loss_name)
    print_findings("gradient-flow findings before training", before)
    monitor = dp.TrainingMonitor()

    def after_training(history) -> list:
        after = dp.diagnose(model, split.X_train, split.y_train, loss_name)
        print_findings("gradient-flow findings after training", after)
        records = history.diagnostics
        written = []
        if records is not None and records.get("step"):
            records.to_csv(os.path.join(out, "diagnostics.csv"))
            records.save_activations(os.path.join(out, "activations.npz"))
            written += ["diagnostics.csv", "activations.npz"]
        layer_names = {str(index): layer.label for index, layer in enumerate(model.layers)}
        document = {"findings": {"before": [vars(f) for f in before], "after": [vars(f) for f in after]},
                    "layer_names": layer_names}
        path = os.path.join(out, "findings.json")
        with atomic_path(path) as temporary, open(temporary, "w") as handle:
            json.dump(document, handle, indent=1)
        from ..diagnostics.report import write_report

        write_report(out)
        return written + ["findings.json", "report.html"]

    return [monitor], after_training
