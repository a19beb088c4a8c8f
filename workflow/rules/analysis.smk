# Stage 2: device analyses on the validated manifest (raw/README.md). Every config value reaches the
# scripts through params: (a params change reruns the rule; scripts never read snakemake.config).
# A protocol missing from the data gives empty-but-valid tables (status/reason columns) and
# figures that say what was skipped, so downstream rules never fail obscurely.

ANALYSIS = config["analysis"]
TRACES_MANIFEST = "results/traces/manifest.csv"


# A report figure; the caption text given here is the one in workflow/report/analysis/<name>.rst.
analysis_fig = lambda name, caption: report(
    f"results/figures/{name}.png",
    caption=f"../report/analysis/{name}.rst",
    category="2. Device analyses",
)


rule analyse_pulse_response:
    input:
        manifest=TRACES_MANIFEST,
        code=script_code("analyse_pulse_response"),
    output:
        pulse_table="results/tables/pulse_response.csv",
        iv_table="results/tables/iv_current_at_target.csv",
        iv_loops="results/tables/iv_loops.csv",
        fig2b=analysis_fig("fig2b_iv", "I-V loops and current at 0.6 V against sweep rate."),
        fig2c=analysis_fig("fig2c_psv_vs_amplitude", "PSV change against pulse amplitude."),
        fig2d=analysis_fig("fig2d_psv_vs_width", "PSV change against pulse width."),
        fig2e=analysis_fig("fig2e_psv_vs_resistance", "PSV transients against resistance."),
    params:
        nominal_device=ANALYSIS["nominal_device"],
        pulses=ANALYSIS["pulses"],
        fit_quality=ANALYSIS["fit_quality"],
        iv=ANALYSIS["iv"],
    log:
        "results/logs/analyse_pulse_response.log",
    benchmark:
        "results/benchmarks/analyse_pulse_response.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    script:
        rule_script("analyse_pulse_response")


rule analyse_ppf:
    input:
        manifest=TRACES_MANIFEST,
        code=script_code("analyse_ppf"),
    output:
        values="results/tables/ppf_values.csv",
        fits="results/tables/ppf_fits.csv",
        fig3a=analysis_fig("fig3a_ppf_fits", "PPF index with double/single exponential fits."),
        fig3b=analysis_fig("fig3b_ppf_heatmap", "PPF over resistance and interval."),
        fig3c=analysis_fig("fig3c_two_pulse_traces", "Two-pulse PSV trace with A1 and A2."),
    params:
        nominal_device=ANALYSIS["nominal_device"],
        pulses=ANALYSIS["pulses"],
        fit_quality=ANALYSIS["fit_quality"],
        ppf=ANALYSIS["ppf"],
    log:
        "results/logs/analyse_ppf.log",
    benchmark:
        "results/benchmarks/analyse_ppf.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    script:
        rule_script("analyse_ppf")


rule analyse_acf:
    input:
        manifest=TRACES_MANIFEST,
        code=script_code("analyse_acf"),
    output:
        table="results/tables/acf_memory.csv",
        fig3d=analysis_fig("fig3d_acf_std", "Std of the normalised ACF of the PSV (memory)."),
    params:
        nominal_device=ANALYSIS["nominal_device"],
        pulses=ANALYSIS["pulses"],
        acf=ANALYSIS["acf"],
    log:
        "results/logs/analyse_acf.log",
    benchmark:
        "results/benchmarks/analyse_acf.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        rule_script("analyse_acf")


rule analyse_retention:
    input:
        manifest=TRACES_MANIFEST,
        code=script_code("analyse_retention"),
    output:
        table="results/tables/retention_fits.csv",
        learning="results/tables/pulse_train_learning.csv",
        fig3e=analysis_fig("fig3e_ltp_prolonged", "PSV under a prolonged 500 Hz train."),
        fig3f=analysis_fig("fig3f_learning", "Weight after each pulse of the train."),
        fig3g=analysis_fig("fig3g_forgetting", "Forgetting with Kohlrausch fits."),
    params:
        nominal_device=ANALYSIS["nominal_device"],
        pulses=ANALYSIS["pulses"],
        fit_quality=ANALYSIS["fit_quality"],
        retention=ANALYSIS["retention"],
    log:
        "results/logs/analyse_retention.log",
    benchmark:
        "results/benchmarks/analyse_retention.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    script:
        rule_script("analyse_retention")


rule analyse_ltp_ltd_chunk:
    """Weights and NeuroSim fits of one chunk of the LTP/LTD traces (scattered; the chunks are
    traces.store.chunk_traces consecutive rows of the ordered ltp_ltd rows)."""
    input:
        manifest=TRACES_MANIFEST,
        code=script_code("analyse_ltp_ltd_chunk"),
    output:
        fits="results/chunks/ltp_ltd_fits/chunk-{chunk}.parquet",
        weights="results/chunks/ltp_ltd_weights/chunk-{chunk}.parquet",
    wildcard_constraints:
        chunk=r"\d{5}",
    params:
        nominal_device=ANALYSIS["nominal_device"],
        pulses=ANALYSIS["pulses"],
        fit_quality=ANALYSIS["fit_quality"],
        ltp_ltd=ANALYSIS["ltp_ltd"],
        chunk_traces=config["traces"]["store"]["chunk_traces"],
        batch_traces=config["traces"]["store"]["batch_traces"],
    log:
        "results/logs/analyse_ltp_ltd_chunk/{chunk}.log",
    benchmark:
        "results/benchmarks/analyse_ltp_ltd_chunk/{chunk}.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 2
    resources:
        mem_mb=1500,
        runtime=20,
    script:
        rule_script("analyse_ltp_ltd_chunk")


rule analyse_ltp_ltd:
    input:
        fit_chunks=ltp_ltd_chunk_files("fits"),
        weight_chunks=ltp_ltd_chunk_files("weights"),
        code=script_code("analyse_ltp_ltd"),
    output:
        fits="results/tables/ltp_ltd_fits.csv",
        weights="results/tables/ltp_ltd_weights.csv",
        fig1e=analysis_fig("fig1e_ltp_ltd", "LTP/LTD weights with NeuroSim fits."),
        fig3h=analysis_fig("fig3h_ltp_nl_dw", "LTP non-linearity and step size."),
        fig3i=analysis_fig("fig3i_ltd_nl_dw", "LTD non-linearity and step size."),
        figS15=analysis_fig("figS15_dynamic_range", "Weight bounds and W_max/W_min."),
    params:
        nominal_device=ANALYSIS["nominal_device"],
    log:
        "results/logs/analyse_ltp_ltd.log",
    benchmark:
        "results/benchmarks/analyse_ltp_ltd.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=20,
    script:
        rule_script("analyse_ltp_ltd")


rule analyse_variability:
    input:
        fits=rules.analyse_ltp_ltd.output.fits,
        code=script_code("analyse_variability"),
    output:
        summary="results/tables/variability_summary.csv",
        cdf="results/tables/variability_cdf.csv",
        endurance="results/tables/endurance.csv",
        figS10=analysis_fig("figS10_endurance", "LTP/LTD metrics against cycle index."),
        figS11=analysis_fig("figS11_variability", "CDFs and array map of device metrics."),
    params:
        nominal_device=ANALYSIS["nominal_device"],
        variability=ANALYSIS["variability"],
    log:
        "results/logs/analyse_variability.log",
    benchmark:
        "results/benchmarks/analyse_variability.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        rule_script("analyse_variability")


rule analyse_energy:
    input:
        manifest=TRACES_MANIFEST,
        code=script_code("analyse_energy"),
    output:
        table="results/tables/energy_per_pulse.csv",
        costs="results/tables/energy_pulse_costs.csv",
        figure=analysis_fig("energy_per_pulse", "Energy per pulse against resistance, amplitude, width."),
    params:
        nominal_device=ANALYSIS["nominal_device"],
        pulses=ANALYSIS["pulses"],
        energy=ANALYSIS["energy"],
    log:
        "results/logs/analyse_energy.log",
    benchmark:
        "results/benchmarks/analyse_energy.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    script:
        rule_script("analyse_energy")


rule analyse_array:
    input:
        fits=rules.analyse_ltp_ltd.output.fits,
        code=script_code("analyse_array"),
    output:
        maps="results/tables/array_maps.csv",
        drift="results/tables/array_drift.csv",
        yield_table="results/tables/array_yield.csv",
        fig_maps=analysis_fig("array_maps", "Every variability metric over the array."),
        fig_drift=analysis_fig("array_drift", "Per-cycle drift of the array's mean and spread."),
        fig_yield=analysis_fig("array_yield", "Device yield map."),
    params:
        array=ANALYSIS["array"],
    log:
        "results/logs/analyse_array.log",
    benchmark:
        "results/benchmarks/analyse_array.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    script:
        rule_script("analyse_array")


rule device_params:
    input:
        fits=rules.analyse_ltp_ltd.output.fits,
        variability=rules.analyse_variability.output.summary,
        energy=rules.analyse_energy.output.costs,
        code=script_code("analyse_device_params"),
    output:
        params="results/tables/device_params.csv",
        provenance="results/tables/device_params_provenance.csv",
    params:
        nominal_device=ANALYSIS["nominal_device"],
        resistances=config["resistances"],
    log:
        "results/logs/device_params.log",
    benchmark:
        "results/benchmarks/device_params.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        rule_script("analyse_device_params")


WEIGHT_TABLES = config["traces"]["weight_tables"]


rule analyse_weight_tables:
    input:
        tables=[t[k] for t in WEIGHT_TABLES for k in ("set", "reset")],
        code=script_code("analyse_weight_tables"),
    output:
        fits="results/tables/weight_table_fits.csv",
        weights="results/tables/weight_table_weights.csv",
        states="results/tables/weight_table_states.csv",
        variability="results/tables/weight_table_variability.csv",
        figure=analysis_fig("weight_tables", "LTP/LTD runs from weight-per-pulse tables."),
    params:
        tables=WEIGHT_TABLES,
        ltp_ltd=ANALYSIS["ltp_ltd"],
        fit_quality=ANALYSIS["fit_quality"],
        nominal_device=ANALYSIS["nominal_device"],
    log:
        "results/logs/analyse_weight_tables.log",
    benchmark:
        "results/benchmarks/analyse_weight_tables.tsv"
    conda:
        "../envs/fmes.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        rule_script("analyse_weight_tables")


if WEIGHT_TABLES:  # only data sets that have tables run the rule
    FINAL_OUTPUTS += [*rules.analyse_weight_tables.output]


FINAL_OUTPUTS += [
    *rules.analyse_pulse_response.output,
    *rules.analyse_ppf.output,
    *rules.analyse_acf.output,
    *rules.analyse_retention.output,
    *rules.analyse_ltp_ltd.output,
    *rules.analyse_variability.output,
    *rules.analyse_array.output,
    *rules.analyse_energy.output,
    *rules.device_params.output,
]
