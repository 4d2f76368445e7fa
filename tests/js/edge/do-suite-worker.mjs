// A Cloudflare worker whose Durable Object runs the Rust storage contract suite
// (tests/durable_object.rs, built by do-suite.test.mjs) on its own SQLite storage, driving
// wasm-bindgen-test's `WasmBindgenTestContext` the way `wasm-bindgen-test-runner` does in Node.
// The object answers the suite's output lines, its captured console lines and whether it passed.
import { DurableObject } from "cloudflare:workers";
import suiteWasm from "./suite_bg.wasm";
import * as suite from "./suite.js";

// Console calls go to the running test's captured output (printed when it fails), as in the
// runner; all of them are also kept here, so skipped cases can be reported.
const consoleLines = [];
const handlers = {
  debug: suite.__wbgtest_console_debug,
  log: suite.__wbgtest_console_log,
  info: suite.__wbgtest_console_info,
  warn: suite.__wbgtest_console_warn,
  error: suite.__wbgtest_console_error,
};
for (const [method, handler] of Object.entries(handlers)) {
  console[method] = (...args) => {
    consoleLines.push(args.map(String).join(" "));
    handler(args);
  };
}

export class ContractSuite extends DurableObject {
  async fetch() {
    const output = [];
    // The suite's own report: the worker formatter writes here (the Node one to the other).
    globalThis.__wbg_test_output_writeln = (line) => output.push(String(line));
    globalThis.__wbgtest_og_console_log = (line) => output.push(String(line));
    globalThis.__wbg_test_invoke = (f) => f();
    globalThis.__evstoreContractStorage = this.ctx.storage;
    const wasm = suite.initSync({ module: suiteWasm });
    const tests = Object.keys(wasm).filter((name) => name.startsWith("__wbgt_"));
    const cx = new suite.WasmBindgenTestContext(false);
    const ok = await cx.run(tests.map((name) => wasm[name]));
    return Response.json({ ok, cases: tests.length, output, console: consoleLines });
  }
}

export default {
  fetch(request, env) {
    return env.SUITE.get(env.SUITE.idFromName("suite")).fetch(request);
  },
};
