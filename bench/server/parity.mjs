// The server benchmark's check that its reference answers as evstore's server does (run before
// anything is measured): the same requests to both — appends with ids, an idempotent retry, each
// kind of expectedRevision, a conflict, stream and $all reads both ways — must give the same
// statuses, error codes and bodies (only `createdAt` differs, and the `message` of errors).

const strip = (text) =>
  JSON.parse(text, (key, value) => (key === "createdAt" || key === "message" ? undefined : value));

/** Throws unless `evstoreBase` and `referenceBase` answer the same script alike, for `tenant` with `jwt`. */
export async function checkParity(evstoreBase, referenceBase, tenant, jwt) {
  const ids = Array.from({ length: 4 }, () => crypto.randomUUID());
  const steps = [
    ["POST", "/streams/Order-1", { events: [{ id: ids[0], type: "Placed", data: { total: 12.5, lines: [1, 2] } }, { id: ids[1], type: "Paid", metadata: { by: "ada" } }], expectedRevision: "no_stream" }],
    ["POST", "/streams/Order-1", { events: [{ id: ids[0], type: "Placed", data: { total: 12.5, lines: [1, 2] } }, { id: ids[1], type: "Paid", metadata: { by: "ada" } }] }],
    ["POST", "/streams/Order-1", { events: [{ id: ids[2], type: "Shipped" }], expectedRevision: 0 }],
    ["POST", "/streams/Order-1", { events: [{ id: ids[2], type: "Shipped" }], expectedRevision: 1 }],
    ["POST", "/streams/Order-2", { events: [{ id: ids[3], type: "Placed" }], expectedRevision: "stream_exists" }],
    ["POST", "/streams/Order-2", { events: [{ id: ids[3], type: "Placed", data: "ünïcödé" }], expectedRevision: "any" }],
    ["POST", "/streams/Order-2", { events: [{ id: ids[0], type: "Placed" }] }],
    ["GET", "/streams/Order-1"],
    ["GET", "/streams/Order-1?fromRevision=1&maxCount=1"],
    ["GET", "/streams/Order-1?direction=backwards&maxCount=2"],
    ["GET", "/streams/Nothing-1"],
    ["GET", "/all"],
    ["GET", "/all?fromPosition=2&maxCount=10"],
    ["GET", "/all?direction=backwards&fromPosition=2"],
  ];
  for (const [method, path, body] of steps) {
    const answers = [];
    for (const base of [evstoreBase, referenceBase]) {
      const res = await fetch(`${base}/t/${tenant}${path}`, {
        method,
        headers: { authorization: `Bearer ${jwt}`, ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      answers.push({ status: res.status, body: strip(await res.text()) });
    }
    const [e, r] = answers.map((a) => JSON.stringify(a));
    if (e !== r) throw new Error(`the reference answers ${method} ${path} unlike evstore:\n  evstore:   ${e}\n  reference: ${r}`);
  }
}
