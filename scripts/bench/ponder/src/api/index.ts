// Ponder refuses to start without an API file; the benchmark serves nothing.
import { Hono } from "hono";

const app = new Hono();

export default app;
