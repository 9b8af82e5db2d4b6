// The naive PostgreSQL baseline: one transaction per reserve that locks the product row
// (SELECT ... FOR UPDATE), then updates it and inserts the reservation. Its own tiny schema
// ("naive") in the bench database; deliberately nothing clever. Not part of the product.
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DATABASE_POOL_SIZE ?? 10) });
pool.on('error', () => undefined);

await pool.query(`CREATE SCHEMA IF NOT EXISTS naive;
  CREATE TABLE IF NOT EXISTS naive.products (sku TEXT PRIMARY KEY, on_hand INTEGER NOT NULL, reserved INTEGER NOT NULL DEFAULT 0);
  CREATE TABLE IF NOT EXISTS naive.reservations (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, sku TEXT NOT NULL,
    quantity INTEGER NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now());
  INSERT INTO naive.products (sku, on_hand) VALUES ('HOT', 1000000000) ON CONFLICT (sku) DO NOTHING;`);

const app = Fastify({ logger: false });

app.get('/healthz', async () => {
  await pool.query('SELECT 1');
  return { status: 'ok' };
});

interface ReserveBody {
  userId: string;
  sku: string;
  quantity: number;
}

app.post<{ Body: ReserveBody }>('/inventory/reserve', async (request, reply) => {
  const { userId, sku, quantity } = request.body;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ on_hand: number; reserved: number }>(
      'SELECT on_hand, reserved FROM naive.products WHERE sku = $1 FOR UPDATE',
      [sku],
    );
    const row = rows[0];
    if (!row || row.on_hand - row.reserved < quantity) {
      await client.query('ROLLBACK');
      return reply.code(row ? 400 : 404).send({ success: false, code: row ? 'INSUFFICIENT_INVENTORY' : 'PRODUCT_NOT_FOUND' });
    }
    await client.query('UPDATE naive.products SET reserved = reserved + $2 WHERE sku = $1', [sku, quantity]);
    const id = randomUUID();
    await client.query('INSERT INTO naive.reservations (id, user_id, sku, quantity) VALUES ($1, $2, $3, $4)', [id, userId, sku, quantity]);
    await client.query('COMMIT');
    return reply.code(201).send({ success: true, data: { reservationId: id, userId, sku, quantity } });
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
});

const shutdown = () => void app.close().then(() => pool.end()).then(() => process.exit(0));
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' });
