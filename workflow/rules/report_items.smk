# The HTML report's structure (snakemake --report): every figure and key table of the workflow is
# a report item in a numbered stage (category), a protocol or topic (subcategory), with the labels
# "panel" (the paper panel it reproduces, or what kind of result it is) and "content".
# Captions are Jinja templates in workflow/report/ rendered with the run's config and params.
from snakemake.io import get_flag_value, is_flagged

# The stages (categories) and, per stage, its protocols or topics (subcategories) in workflow
# order; the report numbers both over what this run reports, since it lists them alphabetically.
REPORT_SUBCATEGORIES = {
    "Device model": ("Calibration",),
    "Trace QC": ("QC table", "QC figures"),
    "Device analyses": (
        "I–V sweeps",
        "Single pulses",
        "Paired pulses",
        "Pulse train and forgetting",
        "LTP/LTD",
        "Cycling and array variability",
        "Energy per pulse",
        "Weight tables",
        "Fitted device parameters",
    ),
    "Networks": ("MNIST training (Fig 4)", "Learning-rate search", "Device landscape"),
    "Adaptation": ("Resistance mapping (Fig 5)",),
    "System": (
        "Training energy",
        "Inference over time",
        "Output ADC",
        "Adaptation energy",
        "Exports",
    ),
    "Paper vs reproduction": ("Paper table", "Claim robustness", "Run summary"),
}
REPORT_STAGES = tuple(REPORT_SUBCATEGORIES)
if any(len(topics) > 9 for topics in REPORT_SUBCATEGORIES.values()):
    # the report sorts names as text: "3.10" would come before "3.9"
    raise ValueError("a report stage with more than 9 subcategories: number them with two digits")
REPORTED_PLACES = set()  # filled by reported_places() when the report is built


def _report_place(path):
    """(stage, subcategory) of a report-flagged output: set by report_item on its callables."""
    if not is_flagged(path, "report"):
        return None
    return getattr(get_flag_value(path, "report").subcategory, "place", None)


def reported_places():
    """The (stage, subcategory) pairs this report shows: those of the report-flagged outputs of
    the jobs in the DAG the report is built from (Snakemake gathers exactly these files), so a
    stage or protocol that this run leaves out (skipped adaptation, no weight tables, ...) takes
    no number. Evaluated when the report is built, once per report."""
    if not REPORTED_PLACES:
        REPORTED_PLACES.update(
            place
            for job in workflow.dag.jobs
            for path in job.output
            if (place := _report_place(path)) is not None
        )
    return REPORTED_PLACES


def report_place(stage, subcategory):
    """The category and subcategory callables of a report item at (stage, subcategory):
    "<n>. <stage>" and "<n>.<m> <subcategory>", numbered over reported_places() (no gaps)."""
    if subcategory not in REPORT_SUBCATEGORIES.get(stage, ()):
        raise ValueError(
            f"report place {stage!r} / {subcategory!r} is not in REPORT_SUBCATEGORIES "
            "(workflow/rules/report_items.smk)"
        )

    def numbers():
        places = reported_places()
        stages = [s for s in REPORT_STAGES if any(p[0] == s for p in places)]
        topics = [t for t in REPORT_SUBCATEGORIES[stage] if (stage, t) in places]
        return stages.index(stage) + 1, topics.index(subcategory) + 1

    def category(wildcards):
        return f"{numbers()[0]}. {stage}"

    def topic(wildcards):
        n, m = numbers()
        return f"{n}.{m} {subcategory}"

    topic.place = (stage, subcategory)
    return category, topic


def report_item(path, *, caption, stage, subcategory, panel, content, patterns=None):
    """`path` flagged for the report with its caption (relative to workflow/report/) and place."""
    category, topic = report_place(stage, subcategory)
    return report(
        path,
        caption=f"../report/{caption}",
        category=category,
        subcategory=topic,
        labels={"panel": panel, "content": content},
        patterns=patterns or [],
    )


def analysis_fig(name, *, protocol, panel, content):
    """A device-analysis figure in the report, captioned by workflow/report/analysis/<name>.rst."""
    return report_item(
        f"results/figures/{name}.png",
        caption=f"analysis/{name}.rst",
        stage="Device analyses",
        subcategory=protocol,
        panel=panel,
        content=content,
    )


def analysis_table(path, *, protocol, content):
    """A key device-analysis table in the report, captioned by workflow/report/tables/<name>.rst."""
    name = os.path.splitext(os.path.basename(path))[0]
    return report_item(
        path,
        caption=f"tables/{name}.rst",
        stage="Device analyses",
        subcategory=protocol,
        panel="table",
        content=content,
    )


def system_item(path, *, topic, panel, content):
    """A system-stage result in the report; figures are captioned by workflow/report/system/,
    tables and exports by workflow/report/tables/ (both <name>.rst)."""
    name, extension = os.path.splitext(os.path.basename(path))
    return report_item(
        path,
        caption=f"{'system' if extension == '.png' else 'tables'}/{name}.rst",
        stage="System",
        subcategory=topic,
        panel=panel,
        content=content,
    )
