export default {
  root: import.meta.dirname,
  logLevel: "warn",
  build: { target: "es2022", outDir: "dist", emptyOutDir: true },
};
