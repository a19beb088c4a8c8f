# The HTML report's structure (snakemake --report): every figure and key table of the workflow is
# a report item in a numbered stage (category), a protocol or topic (subcategory), with the labels
# "panel" (the paper panel it reproduces, or what kind of result it is) and "content".
# Captions are Jinja templates in workflow/report/ rendered with the run's config and params.

REPORT_STAGES = (
    "Device model",
    "Trace QC",
    "Device analyses",
    "Networks",
    "Adaptation",
    "System",
    "Paper vs reproduction",
)


def report_category(stage):
    """The category of `stage`, numbered over the stages this run reports (no gaps).

    Evaluated when the report is built, once every rule file has set ADAPTATION_ENABLED.
    """
    if stage not in REPORT_STAGES:
        raise ValueError(f"report stage {stage!r} is not one of {REPORT_STAGES}")

    def category(wildcards):
        reported = [name for name in REPORT_STAGES if name != "Adaptation" or ADAPTATION_ENABLED]
        return f"{reported.index(stage) + 1}. {stage}"

    return category


def report_item(path, *, caption, stage, subcategory, panel, content, patterns=None):
    """`path` flagged for the report with its caption (relative to workflow/report/) and place."""
    return report(
        path,
        caption=f"../report/{caption}",
        category=report_category(stage),
        subcategory=subcategory,
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
