# Stage 2: device analyses on the validated manifest (raw/README.md). Every config value reaches the
# scripts through params: (a params change reruns the rule; scripts never read snakemake.config).
# A protocol missing from the data gives empty-but-valid tables (status/reason columns) and
# figures that say what was skipped, so downstream rules never fail obscurely.

ANALYSIS = config["analysis"]
TRACES_MANIFEST = "results/traces/manifest.csv"


rule analyse_pulse_response:
    input:
        manifest=TRACES_MANIFEST,
        code=script_code("analyse_pulse_response"),
    output:
        pulse_table="results/tables/pulse_response.csv",
        iv_table="results/tables/iv_current_at_target.csv",
        iv_loops="results/tables/iv_loops.csv",
        fig2b=analysis_fig(
            "fig2b_iv",
            protocol="I–V sweeps",
            panel="Fig 2b",
            content="I–V loops; current at the target voltage vs sweep rate",
        ),
        fig2c=analysis_fig(
            "fig2c_psv_vs_amplitude",
            protocol="Single pulses",
            panel="Fig 2c",
            content="PSV change vs pulse amplitude",
        ),
        fig2d=analysis_fig(
            "fig2d_psv_vs_width",
            protocol="Single pulses",
            panel="Fig 2d",
            content="PSV change vs pulse width",
        ),
        fig2e=analysis_fig(
            "fig2e_psv_vs_resistance",
            protocol="Single pulses",
            panel="Fig 2e",
            content="PSV transients vs resistance",
        ),
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
    params:
        nominal_device=ANALYSIS["nominal_device"],
        pulses=ANALYSIS["pulses"],
        fit_quality=ANALYSIS["fit_quality"],
        iv=ANALYSIS["iv"],
    script:
        rule_script("analyse_pulse_response")


rule analyse_ppf:
    input:
        manifest=TRACES_MANIFEST,
        code=script_code("analyse_ppf"),
    output:
        values="results/tables/ppf_values.csv",
        fits="results/tables/ppf_fits.csv",
        fig3a=analysis_fig(
            "fig3a_ppf_fits",
            protocol="Paired pulses",
            panel="Fig 3a",
            content="PPF index with exponential fits",
        ),
        fig3b=analysis_fig(
            "fig3b_ppf_heatmap",
            protocol="Paired pulses",
            panel="Fig 3b",
            content="PPF over resistance and interval",
        ),
        fig3c=analysis_fig(
            "fig3c_two_pulse_traces",
            protocol="Paired pulses",
            panel="Fig 3c",
            content="two-pulse PSV trace with A1 and A2",
        ),
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
    params:
        nominal_device=ANALYSIS["nominal_device"],
        pulses=ANALYSIS["pulses"],
        fit_quality=ANALYSIS["fit_quality"],
        ppf=ANALYSIS["ppf"],
    script:
        rule_script("analyse_ppf")


rule analyse_acf:
    input:
        manifest=TRACES_MANIFEST,
        code=script_code("analyse_acf"),
    output:
        table="results/tables/acf_memory.csv",
        fig3d=analysis_fig(
            "fig3d_acf_std",
            protocol="Single pulses",
            panel="Fig 3d",
            content="memory: std of the normalised ACF",
        ),
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
    params:
        nominal_device=ANALYSIS["nominal_device"],
        pulses=ANALYSIS["pulses"],
        acf=ANALYSIS["acf"],
    script:
        rule_script("analyse_acf")


rule analyse_retention:
    input:
        manifest=TRACES_MANIFEST,
        code=script_code("analyse_retention"),
    output:
        table="results/tables/retention_fits.csv",
        learning="results/tables/pulse_train_learning.csv",
        fig3e=analysis_fig(
            "fig3e_ltp_prolonged",
            protocol="Pulse train and forgetting",
            panel="Fig 3e",
            content="PSV under the pulse train",
        ),
        fig3f=analysis_fig(
            "fig3f_learning",
            protocol="Pulse train and forgetting",
            panel="Fig 3f",
            content="weight after each pulse",
        ),
        fig3g=analysis_fig(
            "fig3g_forgetting",
            protocol="Pulse train and forgetting",
            panel="Fig 3g",
            content="forgetting with fits",
        ),
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
    params:
        nominal_device=ANALYSIS["nominal_device"],
        pulses=ANALYSIS["pulses"],
        fit_quality=ANALYSIS["fit_quality"],
        retention=ANALYSIS["retention"],
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
    log:
        "results/logs/analyse_ltp_ltd_chunk/{chunk}.log",
    benchmark:
        "results/benchmarks/analyse_ltp_ltd_chunk/{chunk}.tsv"
    wildcard_constraints:
        chunk=r"\d{5}",
    conda:
        "../envs/fmes.yaml"
    threads: 2
    resources:
        mem_mb=1500,
        runtime=20,
    params:
        nominal_device=ANALYSIS["nominal_device"],
        pulses=ANALYSIS["pulses"],
        fit_quality=ANALYSIS["fit_quality"],
        ltp_ltd=ANALYSIS["ltp_ltd"],
        chunk_traces=config["traces"]["store"]["chunk_traces"],
        batch_traces=config["traces"]["store"]["batch_traces"],
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
        fig1e=analysis_fig(
            "fig1e_ltp_ltd",
            protocol="LTP/LTD",
            panel="Fig 1e",
            content="LTP/LTD weights with NeuroSim fits",
        ),
        fig3h=analysis_fig(
            "fig3h_ltp_nl_dw",
            protocol="LTP/LTD",
            panel="Fig 3h",
            content="LTP non-linearity and step size",
        ),
        fig3i=analysis_fig(
            "fig3i_ltd_nl_dw",
            protocol="LTP/LTD",
            panel="Fig 3i",
            content="LTD non-linearity and step size",
        ),
        figS15=analysis_fig(
            "figS15_dynamic_range",
            protocol="LTP/LTD",
            panel="Supp. Fig 15",
            content="weight bounds and W_max/W_min",
        ),
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
    params:
        nominal_device=ANALYSIS["nominal_device"],
    script:
        rule_script("analyse_ltp_ltd")


rule analyse_variability:
    input:
        fits=rules.analyse_ltp_ltd.output.fits,
        code=script_code("analyse_variability"),
    output:
        summary=analysis_table(
            "results/tables/variability_summary.csv",
            protocol="Cycling and array variability",
            content="cycle-to-cycle and device-to-device CVs",
        ),
        cdf="results/tables/variability_cdf.csv",
        endurance="results/tables/endurance.csv",
        figS10=analysis_fig(
            "figS10_endurance",
            protocol="Cycling and array variability",
            panel="Supp. Fig 10",
            content="LTP/LTD metrics vs cycle",
        ),
        figS11=analysis_fig(
            "figS11_variability",
            protocol="Cycling and array variability",
            panel="Supp. Fig 11",
            content="CDFs and an array map",
        ),
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
    params:
        nominal_device=ANALYSIS["nominal_device"],
        variability=ANALYSIS["variability"],
    script:
        rule_script("analyse_variability")


rule analyse_energy:
    input:
        manifest=TRACES_MANIFEST,
        cell_params=rules.calibrate_device.output.params,
        code=script_code("analyse_energy"),
    output:
        table=analysis_table(
            "results/tables/energy_per_pulse.csv",
            protocol="Energy per pulse",
            content="energy and time per pulse",
        ),
        costs="results/tables/energy_pulse_costs.csv",
        split=analysis_table(
            "results/tables/energy_split.csv",
            protocol="Energy per pulse",
            content="where each pulse's energy goes: R_s, R, internal, stored",
        ),
        figure=analysis_fig(
            "energy_per_pulse",
            protocol="Energy per pulse",
            panel="not a paper panel",
            content="energy per pulse vs resistance, amplitude, width",
        ),
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
    params:
        nominal_device=ANALYSIS["nominal_device"],
        pulses=ANALYSIS["pulses"],
        energy=ANALYSIS["energy"],
        # the LTP/LTD protocol the circuit model's energy balance is computed for
        ltp_ltd=config["protocols"]["ltp_ltd"],
    script:
        rule_script("analyse_energy")


rule analyse_array:
    input:
        fits=rules.analyse_ltp_ltd.output.fits,
        code=script_code("analyse_array"),
    output:
        maps="results/tables/array_maps.csv",
        drift="results/tables/array_drift.csv",
        yield_table=analysis_table(
            "results/tables/array_yield.csv",
            protocol="Cycling and array variability",
            content="working devices and why the others fail",
        ),
        fig_maps=analysis_fig(
            "array_maps",
            protocol="Cycling and array variability",
            panel="after Supp. Fig 11",
            content="every metric over the array",
        ),
        fig_drift=analysis_fig(
            "array_drift",
            protocol="Cycling and array variability",
            panel="not a paper panel",
            content="per-cycle drift of mean and spread",
        ),
        fig_yield=analysis_fig(
            "array_yield",
            protocol="Cycling and array variability",
            panel="not a paper panel",
            content="device yield map",
        ),
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
    params:
        array=ANALYSIS["array"],
    script:
        rule_script("analyse_array")


# A checkpoint: the networks and the adaptation are planned from the states this table actually
# holds (and their status), not from the manifest (workflow/rules/common.smk, state_plan).
checkpoint device_params:
    input:
        fits=rules.analyse_ltp_ltd.output.fits,
        variability=rules.analyse_variability.output.summary,
        energy=rules.analyse_energy.output.costs,
        code=script_code("analyse_device_params"),
    output:
        params=analysis_table(
            "results/tables/device_params.csv",
            protocol="Fitted device parameters",
            content="per-state parameters the networks use",
        ),
        provenance="results/tables/device_params_provenance.csv",
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
    params:
        nominal_device=ANALYSIS["nominal_device"],
        resistances=config["resistances"],
    script:
        rule_script("analyse_device_params")


WEIGHT_TABLES = config["traces"]["weight_tables"]


rule analyse_weight_tables:
    input:
        # one file may serve as both tables (set_columns / reset_columns)
        tables=list(dict.fromkeys(t[k] for t in WEIGHT_TABLES for k in ("set", "reset"))),
        code=script_code("analyse_weight_tables"),
    output:
        fits="results/tables/weight_table_fits.csv",
        weights="results/tables/weight_table_weights.csv",
        states="results/tables/weight_table_states.csv",
        variability="results/tables/weight_table_variability.csv",
        summary="results/tables/weight_table_summary.csv",
        figure=analysis_fig(
            "weight_tables",
            protocol="Weight tables",
            panel="not a paper panel",
            content="LTP/LTD runs from weight-per-pulse tables",
        ),
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
    params:
        tables=WEIGHT_TABLES,
        seed=config["seed"],
        ltp_ltd=ANALYSIS["ltp_ltd"],
        fit_quality=ANALYSIS["fit_quality"],
        nominal_device=ANALYSIS["nominal_device"],
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
