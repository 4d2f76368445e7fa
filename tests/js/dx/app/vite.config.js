// Builds the browser test pages of tests/js/dx (React with evstore/react, Emmett with
// evstore/emmett) as a user's Vite app would, importing "evstore" from node_modules.
import { fileURLToPath } from "node:url";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
export default {
  root: here("."),
  logLevel: "warn",
  // React's development build: StrictMode then mounts every effect twice, as in a user's dev server.
  define: { "process.env.NODE_ENV": JSON.stringify("development") },
  build: {
    target: "es2022",
    outDir: here("../../../../target/dx-app"),
    emptyOutDir: true,
    rollupOptions: { input: { react: here("react.html"), emmett: here("emmett.html") } },
  },
};
