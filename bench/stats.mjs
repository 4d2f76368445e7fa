// Timing statistics and report tables for the benchmarks.

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Summarises one contender's samples (ms per run) of a scenario doing `events` events per run. */
export function summarise(samples, events) {
  const med = median(samples);
  return { median: med, min: Math.min(...samples), max: Math.max(...samples), eventsPerSec: events / (med / 1000), runs: samples.length };
}

const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const fmtRate = (r) => (r >= 1e6 ? `${(r / 1e6).toFixed(2)}M` : r >= 1e3 ? `${(r / 1e3).toFixed(1)}k` : r.toFixed(0));

/** A scenario's rows: contender, median, min–max, events/s, time ratio to the reference. */
export function rows(scenario) {
  const ref = scenario.results[scenario.reference];
  return Object.entries(scenario.results).map(([name, r]) =>
    r
      ? [name, `${fmtMs(r.median)} ms`, `${fmtMs(r.min)}–${fmtMs(r.max)}`, fmtRate(r.eventsPerSec), ref ? `${(r.median / ref.median).toFixed(2)}x` : "—"]
      : [name, "n/a", "", "", ""],
  );
}

const HEAD = ["contender", "median", "min–max", "events/s", "time vs ref"];

export function textTable(scenario) {
  const all = [HEAD, ...rows(scenario)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => String(c).padEnd(widths[i])).join("  ");
  return [`${scenario.title}  (reference: ${scenario.reference})`, line(HEAD), ...rows(scenario).map(line)].join("\n");
}

export function markdownTable(scenario) {
  return [
    `### ${scenario.title}`,
    `Reference: ${scenario.reference}. ${scenario.note ?? ""}`.trim(),
    "",
    `| ${HEAD.join(" | ")} |`,
    `|${HEAD.map(() => "---").join("|")}|`,
    ...rows(scenario).map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

/** A realistic ~200-byte payload (a few strings and numbers). */
export function payload(i) {
  return {
    orderId: `ord-${(i * 7919) % 100000}`,
    customer: { id: `cus-${i % 977}`, name: "Ada Lovelace", email: "ada@example.com" },
    lines: [{ sku: `sku-${i % 31}`, qty: (i % 5) + 1, price: 12.5 }],
    total: 12.5 * ((i % 5) + 1),
    currency: "EUR",
    note: "leave at the door",
  };
}
