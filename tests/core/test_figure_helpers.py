"""The figure helpers: saving without run metadata, and a placeholder that says why."""

from fmes.core.figures import placeholder_figure, plt, save_figure, save_figure_or_placeholder


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in [ax.title, *ax.texts]]


def test_placeholder_figure_names_what_was_skipped_and_why():
    fig = placeholder_figure("PPF fits", "no 'ppf' traces")
    assert "PPF fits" in _texts(fig)
    assert "skipped: no 'ppf' traces" in _texts(fig)
    plt.close(fig)


def test_save_figure_or_placeholder_draws_only_without_a_reason(tmp_path):
    drawn = []

    def draw():
        drawn.append(True)
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        return fig

    png, pdf = save_figure_or_placeholder(tmp_path / "a.png", "title", None, draw)
    assert drawn == [True] and png.stat().st_size > 0 and pdf.exists()
    save_figure_or_placeholder(tmp_path / "b.png", "title", "no data", draw)
    assert drawn == [True]  # a skipped figure is never drawn
    # the placeholder is the same figure save_figure writes for placeholder_figure
    save_figure(placeholder_figure("title", "no data"), tmp_path / "c.png")
    assert (tmp_path / "b.png").read_bytes() == (tmp_path / "c.png").read_bytes()
    assert (tmp_path / "b.pdf").read_bytes() == (tmp_path / "c.pdf").read_bytes()
