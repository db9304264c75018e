/**
 * Result types of the comparison runner and their renderings: the Markdown
 * table, and a hand-written SVG bar chart of the ratios (no dependencies).
 *
 * @module
 */
import { advantage, type Better, median, minMax } from "./_stats.ts";

/** One measured run of one server in one scenario. */
export interface RunSample {
  /** Round number, from 1. */
  round: number;
  /** The metric (req/s, msg/s, MB/s or KiB per connection); `NaN` when the run failed. */
  value: number;
  /** Requests or messages completed in the window (connections for the idle scenario). */
  ops: number;
  /** Length of the measured window in seconds. */
  seconds: number;
  /** Server CPU seconds during the load. */
  serverCpu: number;
  /** Load-client CPU seconds during the load. */
  clientCpu: number;
  /** CPU seconds the rest of the machine used meanwhile (all cores, minus server and client). */
  otherCpu?: number;
  /** Errors the load client counted (socket errors, wrong status, wrong echoes). */
  errors: number;
  /** Round-trip latency median, microseconds. */
  p50Us?: number;
  /** Round-trip latency 99th percentile, microseconds. */
  p99Us?: number;
  /** What went wrong, if anything. */
  note?: string;
  /** The server's `Sec-WebSocket-Extensions` answer, in compressed scenarios. */
  extensions?: string;
  /** Mean payload bytes of the server's compressed echoes (its compression ratio). */
  echoBytes?: number;
}

/** All runs of one server in one scenario, and their summary. */
export interface CompetitorResult {
  /** Stable id, e.g. `deno_serve`. */
  id: string;
  /** Display name. */
  label: string;
  /** Whether this is one of our servers. */
  ours: boolean;
  /** Whether this is the platform floor (`bench/floor.ts`): ours are reported as a share of it. */
  floor?: boolean;
  /** Shown for reference only: no ratio against it (it cannot do what the scenario asks). */
  reference?: boolean;
  /** The runs, in order. */
  runs: RunSample[];
  /** Median of the successful runs' values. */
  median: number;
  /** Smallest successful value. */
  min: number;
  /** Largest successful value. */
  max: number;
  /** Median server CPU use in percent of one core. */
  serverCpuPct: number;
  /** Median client CPU use in percent of one core. */
  clientCpuPct: number;
  /** Median CPU use of everything else on the machine, percent of one core. */
  otherCpuPct: number;
  /** Median server CPU microseconds per request or message (per connection for idle). */
  cpuUsPerOp: number;
  /** Median of the runs' latency medians, microseconds. */
  p50Us: number;
  /** Median of the runs' 99th percentiles, microseconds. */
  p99Us: number;
  /** Errors over all runs. */
  errors: number;
}

/** Ours against one peer in one scenario. */
export interface Ratio {
  /** Our competitor id. */
  ours: string;
  /** The peer's competitor id. */
  peer: string;
  /** Our label. */
  oursLabel: string;
  /** The peer's label. */
  peerLabel: string;
  /** How much better ours is: `> 1` is better (see `advantage`). */
  ratio: number;
  /** The target from issue 5, when it sets one. */
  target?: number;
}

/** One scenario's results. */
export interface ScenarioResult {
  /** Stable id, e.g. `http-hello`. */
  id: string;
  /** What it measures. */
  title: string;
  /** Unit of the value. */
  unit: string;
  /** Which direction of the value is good. */
  better: Better;
  /** The load command, for the record. */
  load: string;
  /** Absolute target for ours, when the issue sets one (e.g. KiB per idle connection). */
  absoluteTarget?: number;
  /** Per server. */
  results: CompetitorResult[];
  /** Ours against each peer. */
  ratios: Ratio[];
  /** Servers not run, with why. */
  skipped: Array<{ id: string; reason: string }>;
}

/** Everything a comparison run writes to `latest.json`. */
export interface Report {
  /** ISO date of the run. */
  date: string;
  /** What the reader must know first: peers that could not run, a disturbed machine. */
  warnings?: string[];
  /** The machine. */
  machine: { nproc: number; cpuModel: string; kernel: string; memTotalKiB: number };
  /** Tool versions. */
  versions: Record<string, string>;
  /** How it was run. */
  config: Record<string, string | number | boolean>;
  /** Per scenario. */
  scenarios: ScenarioResult[];
}

/**
 * Summarises one server's runs (medians over the runs that produced a value).
 *
 * @param id Competitor id.
 * @param label Display name.
 * @param ours Whether it is ours.
 * @param runs Its runs.
 * @returns The summary.
 */
export function summarise(
  id: string,
  label: string,
  ours: boolean,
  runs: RunSample[],
): CompetitorResult {
  const ok = runs.filter((r) => Number.isFinite(r.value));
  const values = ok.map((r) => r.value);
  const [min, max] = minMax(values);
  const pct = (cpu: number, s: number) => (s > 0 ? (cpu / s) * 100 : NaN);
  const finite = (xs: Array<number | undefined>) =>
    xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
  return {
    id,
    label,
    ours,
    runs,
    median: median(values),
    min,
    max,
    serverCpuPct: median(ok.map((r) => pct(r.serverCpu, r.seconds))),
    clientCpuPct: median(ok.map((r) => pct(r.clientCpu, r.seconds))),
    otherCpuPct: median(
      finite(ok.map((r) => r.otherCpu === undefined ? undefined : pct(r.otherCpu, r.seconds))),
    ),
    cpuUsPerOp: median(ok.filter((r) => r.ops > 0).map((r) => (r.serverCpu / r.ops) * 1e6)),
    p50Us: median(finite(ok.map((r) => r.p50Us))),
    p99Us: median(finite(ok.map((r) => r.p99Us))),
    errors: runs.reduce((n, r) => n + r.errors, 0),
  };
}

/**
 * Ratios of every one of ours against every peer.
 *
 * @param results The scenario's summaries.
 * @param better Which direction is good.
 * @param targets Targets by peer id.
 * @returns One ratio per (ours, peer) pair.
 */
export function ratios(
  results: CompetitorResult[],
  better: Better,
  targets: Readonly<Record<string, number>> = {},
): Ratio[] {
  const out: Ratio[] = [];
  for (const o of results.filter((r) => r.ours)) {
    for (const p of results.filter((r) => !r.ours && !r.reference)) {
      const r: Ratio = {
        ours: o.id,
        peer: p.id,
        oursLabel: o.label,
        peerLabel: p.label,
        ratio: advantage(o.median, p.median, better),
      };
      const t = targets[p.id];
      if (t !== undefined) r.target = t;
      out.push(r);
    }
  }
  return out;
}

/**
 * Formats a number with thousands separators and sensible precision.
 *
 * @param v The number.
 * @returns Text; `-` for `NaN`.
 */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return "-";
  const abs = Math.abs(v);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return v.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/**
 * Formats a ratio as `1.23x`.
 *
 * @param v The ratio.
 * @returns Text; `-` for `NaN`.
 */
export function fmtRatio(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(2)}x` : "-";
}

const MU = "\u00b5";

function pctOrDash(v: number): string {
  return Number.isFinite(v) ? `${fmt(v)}%` : "-";
}

/** Column of the summary table a peer belongs to, by its id. */
const FAMILIES = [
  { title: "vs Deno", match: (id: string) => id.startsWith("deno_") },
  { title: "vs Node", match: (id: string) => id.startsWith("node_") },
  { title: "vs Bun", match: (id: string) => id.startsWith("bun") },
  { title: "share of floor", match: (id: string) => id.startsWith("floor") },
] as const;

/**
 * The summary: per scenario and server of ours, its ratio to each peer family
 * and its share of the floor (ours / floor for throughput, floor / ours for
 * memory), each with the target when there is one, and the share of the floor
 * by server CPU per operation (floor / ours).
 *
 * @param report The report.
 * @returns Markdown lines.
 */
function summaryTable(report: Report): string[] {
  const lines = [
    "## Summary (ratio ours / peer, > 1 is better; share of floor: ours / floor)",
    "",
    `| scenario | ours | value | ${
      FAMILIES.map((f) => f.title).join(" | ")
    } | CPU/op share of floor |`,
    `| --- | --- | ---: | ${FAMILIES.map(() => "---:").join(" | ")} | ---: |`,
  ];
  for (const s of report.scenarios) {
    for (const o of s.results.filter((r) => r.ours)) {
      const cells = FAMILIES.map((f) => {
        const r = s.ratios.find((x) => x.ours === o.id && f.match(x.peer));
        if (r === undefined) return "n/a";
        const mark = r.target === undefined || !Number.isFinite(r.ratio)
          ? ""
          : r.ratio >= r.target
          ? ` (>= ${r.target} met)`
          : ` (**< ${r.target}**)`;
        return `${fmtRatio(r.ratio)}${mark}`;
      });
      // Server CPU per operation is steadier than throughput when the load client saturates.
      const floor = s.results.find((r) => r.floor);
      // (Not for memory: CPU per connection opened is no cost of the idle connection.)
      const cpuShare = floor === undefined || s.better !== "higher"
        ? NaN
        : floor.cpuUsPerOp / o.cpuUsPerOp;
      lines.push(
        `| ${s.id} | ${o.label} | ${fmt(o.median)} ${s.unit} | ${cells.join(" | ")} | ` +
          `${Number.isFinite(cpuShare) ? fmtRatio(cpuShare) : "n/a"} |`,
      );
    }
  }
  return lines;
}

/**
 * The compression section, when the report has compressed scenarios (ids
 * with `-deflate`): per compressed scenario and server of ours, the
 * throughput and the server CPU per message against each compared peer, and
 * what compression costs each server: its compressed throughput and CPU per
 * message against the same server in the uncompressed baseline (the
 * scenario with `-json` instead of `-deflate`).
 *
 * @param report The report.
 * @returns Markdown lines; none without compressed scenarios.
 *
 * @example Ours against a peer, and against ourselves uncompressed
 * ```ts
 * import { compressionTable, summarise, type Report } from "./_report.ts";
 * import { Better } from "./_stats.ts";
 * import { ok } from "node:assert/strict";
 *
 * const run = (value: number, cpu: number) =>
 *   [{ round: 1, value, ops: value, seconds: 1, serverCpu: cpu, clientCpu: 0, errors: 0 }];
 * const scenario = (id: string, rs: ReturnType<typeof summarise>[]) => ({
 *   id, title: id, unit: "msg/s", better: Better.higher, load: "", results: rs, ratios: [],
 *   skipped: [],
 * });
 * const report: Report = {
 *   date: "", machine: { nproc: 2, cpuModel: "", kernel: "", memTotalKiB: 0 }, versions: {},
 *   config: {},
 *   scenarios: [
 *     scenario("ws-1k-deflate", [summarise("ours", "ours", true, run(20_000, 0.5)),
 *       summarise("node_ws", "ws", false, run(10_000, 1))]),
 *     scenario("ws-1k-json", [summarise("ours", "ours", true, run(40_000, 0.5))]),
 *   ],
 * };
 * const md = compressionTable(report).join("\n");
 * ok(md.includes("| ws-1k-deflate | ours | ws | 2.00x | 4.00x |"));
 * ok(md.includes("| ws-1k-deflate | ours | 20,000 msg/s | 40,000 msg/s | 50.0% | 25.0 | 12.5 | - |"));
 * ```
 */
export function compressionTable(report: Report): string[] {
  const deflated = report.scenarios.filter((s) => s.id.includes("-deflate"));
  if (deflated.length === 0) return [];
  const lines = [
    "## Compression (permessage-deflate)",
    "",
    `Ours against each compressed peer: throughput ratio (ours / peer) and server CPU per message ` +
    `ratio (peer ${MU}s / ours ${MU}s); > 1 is better.`,
    "",
    `| scenario | ours | peer | msg/s ratio | CPU/msg ratio |`,
    "| --- | --- | --- | ---: | ---: |",
  ];
  for (const s of deflated) {
    for (const o of s.results.filter((r) => r.ours)) {
      for (const p of s.results.filter((r) => !r.ours && !r.reference)) {
        lines.push(
          `| ${s.id} | ${o.label} | ${p.label} | ${fmtRatio(o.median / p.median)} | ` +
            `${fmtRatio(p.cpuUsPerOp / o.cpuUsPerOp)} |`,
        );
      }
    }
  }
  lines.push(
    "",
    "Throughput kept with compression on (each server against itself in the uncompressed " +
      "baseline scenario), and what the extension answer was:",
    "",
    `| scenario | server | compressed | uncompressed | kept | CPU ${MU}s/msg compressed | ` +
      `CPU ${MU}s/msg uncompressed | echo bytes on the wire | negotiated |`,
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  );
  for (const s of deflated) {
    const base = report.scenarios.find((x) => x.id === s.id.replace("-deflate", "-json"));
    for (const r of s.results.filter((x) => !x.reference)) {
      const b = base?.results.find((x) => x.id === r.id);
      const ext = r.runs.find((x) => x.extensions)?.extensions;
      const bytes = median(r.runs.map((x) => x.echoBytes ?? NaN).filter(Number.isFinite));
      lines.push(
        `| ${s.id} | ${r.label} | ${fmt(r.median)} ${s.unit} | ${
          b ? `${fmt(b.median)} ${s.unit}` : "-"
        } | ${b ? `${fmt((r.median / b.median) * 100)}%` : "-"} | ${fmt(r.cpuUsPerOp)} | ${
          b ? fmt(b.cpuUsPerOp) : "-"
        } | ${fmt(bytes)} | ${ext ? `\`${ext}\`` : ""} |`,
      );
    }
  }
  return lines;
}

/**
 * Renders the report as Markdown: context, one row per server per scenario,
 * and the ratio table with the issue's targets.
 *
 * @param report The report.
 * @returns Markdown text.
 */
export function renderMarkdown(report: Report): string {
  const m = report.machine;
  const lines: string[] = [];
  lines.push(`# coroio benchmark: end-to-end comparison`, "");
  lines.push(
    `${report.date} - ${m.nproc} cores (${m.cpuModel}), Linux ${m.kernel}, ` +
      Object.entries(report.versions).map(([k, v]) => `${k} ${v}`).join(", "),
    "",
  );
  lines.push(
    "Config: " + Object.entries(report.config).map(([k, v]) => `${k}=${v}`).join(", ") +
      '. Server and load client share the machine; CPU is percent of one core; "other CPU" is what ' +
      "everything else on the machine used meanwhile (a high value means the run was disturbed).",
    "",
  );
  for (const w of report.warnings ?? []) lines.push(`> **Warning:** ${w}`, "");
  lines.push(...summaryTable(report), "");
  lines.push("## Ratios (ours / peer; > 1 means ours is better)", "");
  lines.push(
    "| scenario | ours | peer | ratio | target | met |",
    "| --- | --- | --- | ---: | ---: | :---: |",
  );
  for (const s of report.scenarios) {
    for (const r of s.ratios) {
      const met = r.target === undefined || !Number.isFinite(r.ratio)
        ? ""
        : r.ratio >= r.target
        ? "yes"
        : "no";
      lines.push(
        `| ${s.id} | ${r.oursLabel} | ${r.peerLabel} | ${fmtRatio(r.ratio)} | ` +
          `${r.target === undefined ? "" : `>= ${r.target}x`} | ${met} |`,
      );
    }
    if (s.absoluteTarget !== undefined) {
      for (const o of s.results.filter((x) => x.ours)) {
        const met = Number.isFinite(o.median) ? (o.median <= s.absoluteTarget ? "yes" : "no") : "";
        lines.push(
          `| ${s.id} | ${o.label} | (absolute) | ${
            fmt(o.median)
          } ${s.unit} | <= ${s.absoluteTarget} ${s.unit} | ${met} |`,
        );
      }
    }
  }
  const compression = compressionTable(report);
  if (compression.length > 0) lines.push("", ...compression);
  lines.push("", "## Results (median of rounds, min-max)", "");
  lines.push(
    `| scenario | server | median | min-max | server CPU | client CPU | other CPU | server CPU ${MU}s/op | ` +
      `p50 / p99 ${MU}s | errors |`,
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const s of report.scenarios) {
    for (const r of s.results) {
      const lat = Number.isFinite(r.p50Us) ? `${fmt(r.p50Us)} / ${fmt(r.p99Us)}` : "-";
      lines.push(
        `| ${s.id} | ${r.label} | ${fmt(r.median)} ${s.unit} | ${fmt(r.min)}-${fmt(r.max)} | ` +
          `${fmt(r.serverCpuPct)}% | ${fmt(r.clientCpuPct)}% | ${pctOrDash(r.otherCpuPct)} | ` +
          `${fmt(r.cpuUsPerOp)} | ${lat} | ${r.errors} |`,
      );
    }
    for (const k of s.skipped) {
      lines.push(`| ${s.id} | ${k.id} | skipped: ${k.reason} | | | | | | | |`);
    }
  }
  lines.push("", "## Scenarios", "");
  for (const s of report.scenarios) lines.push(`- \`${s.id}\`: ${s.title}. Load: \`${s.load}\`.`);
  const notes = report.scenarios.flatMap((s) =>
    s.results.flatMap((r) =>
      r.runs.filter((x) => x.note).map((x) => `- ${s.id} / ${r.label} round ${x.round}: ${x.note}`)
    )
  );
  if (notes.length > 0) lines.push("", "## Notes", "", ...notes);
  return lines.join("\n") + "\n";
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

/**
 * Renders the ratios as a horizontal bar chart on a log scale, bars growing
 * from 1x: right (green) where ours is better, left (red) where it is worse;
 * a dashed tick marks each target.
 *
 * @param report The report.
 * @returns SVG text.
 */
export function renderSvg(report: Report): string {
  const rows = report.scenarios.flatMap((s) =>
    s.ratios.map((r) => ({
      label: `${s.id}: ${r.oursLabel} vs ${r.peerLabel}`,
      value: r.ratio,
      target: r.target,
    }))
  );
  const W = 980;
  const left = 430;
  const right = 70;
  const top = 64;
  const rowH = 24;
  const plotW = W - left - right;
  const H = top + Math.max(1, rows.length) * rowH + 44;
  const finite = rows.map((r) => r.value).filter((v) => Number.isFinite(v) && v > 0);
  const lo = Math.floor(Math.log2(Math.min(0.5, ...finite)));
  const hi = Math.ceil(Math.log2(Math.max(4, ...finite, ...rows.map((r) => r.target ?? 1))));
  const x = (v: number) => left + ((Math.log2(v) - lo) / (hi - lo)) * plotW;
  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      `font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
  );
  o.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  o.push(
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">` +
      `coroio against Deno, Node, Bun and the floor: ratio, log scale (&gt; 1x: coroio better)</text>`,
  );
  const m = report.machine;
  o.push(
    `<text x="${W / 2}" y="40" text-anchor="middle" fill="#555">` +
      esc(
        `${report.date.slice(0, 10)}, ${m.nproc} cores ${m.cpuModel}, deno ${
          report.versions.deno ?? "?"
        }, ` +
          `node ${report.versions.node ?? "?"}; dashed ticks: targets`,
      ) + `</text>`,
  );
  const bottom = top + rows.length * rowH;
  for (let e = lo; e <= hi; e++) {
    const v = 2 ** e;
    const gx = x(v).toFixed(1);
    o.push(
      `<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${bottom}" stroke="${
        e === 0 ? "#333" : "#ddd"
      }" ` +
        `stroke-width="${e === 0 ? 1.5 : 1}"/>`,
    );
    o.push(
      `<text x="${gx}" y="${bottom + 16}" text-anchor="middle" fill="#555">${
        v >= 1 ? v : v.toFixed(e >= -2 ? 2 : 3)
      }x</text>`,
    );
  }
  // Target ticks first, so that bars and value labels are drawn over them.
  rows.forEach((r, i) => {
    if (r.target === undefined) return;
    const y = top + i * rowH;
    const tx = x(r.target).toFixed(1);
    o.push(
      `<line x1="${tx}" y1="${y + 1}" x2="${tx}" y2="${y + rowH - 1}" stroke="#111" ` +
        `stroke-width="1.5" stroke-dasharray="3,2"/>`,
    );
  });
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const cy = y + rowH / 2;
    o.push(`<text x="${left - 8}" y="${cy + 4}" text-anchor="end">${esc(r.label)}</text>`);
    if (!(Number.isFinite(r.value) && r.value > 0)) {
      o.push(`<text x="${x(1) + 5}" y="${cy + 4}" fill="#888">n/a</text>`);
      return;
    }
    const x0 = x(1);
    const x1 = x(r.value);
    const good = r.value >= 1;
    const bx = Math.min(x0, x1).toFixed(1);
    const bw = Math.max(1, Math.abs(x1 - x0)).toFixed(1);
    const fill = good ? "#2e7d32" : "#c62828";
    o.push(
      `<rect x="${bx}" y="${y + 4}" width="${bw}" height="${rowH - 8}" fill="${fill}" rx="2"/>`,
    );
    const tx = (good ? x1 + 5 : x1 - 5).toFixed(1);
    const anchor = good ? "start" : "end";
    o.push(
      `<text x="${tx}" y="${cy + 4}" text-anchor="${anchor}" font-weight="600" stroke="#fff" ` +
        `stroke-width="3" paint-order="stroke">${fmtRatio(r.value)}</text>`,
    );
  });
  if (rows.length === 0) {
    o.push(
      `<text x="${W / 2}" y="${
        top + 16
      }" text-anchor="middle" fill="#888">no ratios: no server of ours ran</text>`,
    );
  }
  o.push(`</svg>`);
  return o.join("\n") + "\n";
}
