import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { toMinorUnits } from '../../domain/money.js';
import type { Product } from '../../domain/types.js';
import { DEFAULT_PAGE_SIZE } from '../../services/pagination.js';
import { ok } from '../envelope.js';
import { BODY_LIMITS } from '../json-body.js';
import { presentMovement, presentProduct } from '../presenters.js';
import type { RouteDeps } from '../route-deps.js';
import { routePrincipal } from '../route-deps.js';
import { Envelope, PagedEnvelope, PageQuery } from '../schemas/common.schema.js';
import { refusals } from '../schemas/error.schema.js';
import {
  AdjustBody,
  CreateProductBody,
  MovementView,
  ProductView,
  RestockBody,
  SkuParams,
  UpdateProductBody,
} from '../schemas/product.schema.js';

const validation = (field: string, message: string) =>
  new DomainError('VALIDATION_ERROR', `${field} ${message}`, { errors: [{ field, message }] });

/** The seed's product schema shows these; they follow from totalQuantity and the reservations and orders. */
const DERIVED_FIELDS = ['availableQuantity', 'reservedQuantity', 'soldQuantity'] as const;

/** A create carrying a derived count is refused with a reason, rather than as an unknown field. */
async function refuseDerivedFields(request: FastifyRequest): Promise<void> {
  const body = request.body;
  const derived = body !== null && typeof body === 'object' ? DERIVED_FIELDS.find((field) => field in body) : undefined;
  if (derived) {
    throw validation(derived, 'is derived from totalQuantity and the reservations and orders; send totalQuantity only');
  }
}

function toNewProduct(body: CreateProductBody) {
  const { totalQuantity, quantity } = body;
  if (totalQuantity === undefined && quantity === undefined) throw validation('totalQuantity', 'is required');
  if (totalQuantity !== undefined && quantity !== undefined && totalQuantity !== quantity) {
    throw validation('quantity', 'differs from totalQuantity; send one of them');
  }
  const priceMinor = toMinorUnits(body.price);
  if (priceMinor === null) throw validation('price', 'must be at most 99999999.99 with at most two decimals');
  const productName = body.productName.trim();
  if (productName === '') throw validation('productName', 'must not be blank');
  return { sku: body.sku, productName, priceMinor, onHand: (totalQuantity ?? quantity) as number, maxPerUser: body.maxPerUser ?? null };
}

function toChanges(body: UpdateProductBody) {
  const changes: { productName?: string; priceMinor?: number; maxPerUser?: number | null } = {};
  if (body.productName !== undefined) {
    changes.productName = body.productName.trim();
    if (changes.productName === '') throw validation('productName', 'must not be blank');
  }
  if (body.price !== undefined) {
    const priceMinor = toMinorUnits(body.price);
    if (priceMinor === null) throw validation('price', 'must be at most 99999999.99 with at most two decimals');
    changes.priceMinor = priceMinor;
  }
  if (body.maxPerUser !== undefined) changes.maxPerUser = body.maxPerUser;
  if (Object.keys(changes).length === 0) throw validation('body', 'must name at least one of productName, price and maxPerUser');
  return changes;
}

export const inventoryRoutes =
  (deps: RouteDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/inventory',
      { config: { access: 'public' }, schema: { tags: ['inventory'], querystring: PageQuery, response: { 200: PagedEnvelope(ProductView), ...refusals({ 400: ['VALIDATION_ERROR'] }) } } },
      async (request) => {
        const limit = request.query.limit ?? DEFAULT_PAGE_SIZE;
        const page = await deps.inventory.list(limit, request.query.cursor);
        return {
          ...ok(200, 'Products retrieved', page.items.map(presentProduct)),
          meta: { limit, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) },
        };
      },
    );

    app.get(
      '/inventory/:sku',
      { config: { access: 'public' }, schema: { tags: ['inventory'], params: SkuParams, response: { 200: Envelope(ProductView), ...refusals({ 400: ['VALIDATION_ERROR'], 404: ['PRODUCT_NOT_FOUND'] }) } } },
      async (request) => ok(200, 'Product retrieved', presentProduct(await deps.inventory.get(request.params.sku))),
    );

    app.get(
      '/inventory/:sku/movements',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['inventory'],
          params: SkuParams,
          querystring: PageQuery,
          response: { 200: PagedEnvelope(MovementView), ...refusals({ 400: ['VALIDATION_ERROR'], 404: ['PRODUCT_NOT_FOUND'] }) },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? DEFAULT_PAGE_SIZE;
        const page = await deps.inventory.movements(request.params.sku, limit, request.query.cursor);
        return {
          ...ok(200, 'Stock movements retrieved', page.items.map(presentMovement)),
          meta: { limit, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) },
        };
      },
    );

    app.post(
      '/inventory',
      {
        bodyLimit: BODY_LIMITS.ids,
        config: { access: 'admin' },
        preValidation: refuseDerivedFields,
        schema: {
          tags: ['inventory'],
          body: CreateProductBody,
          response: { 201: Envelope(ProductView, 'Created'), ...refusals({ 400: ['VALIDATION_ERROR'], 409: ['PRODUCT_EXISTS'] }) },
        },
      },
      async (request, reply) => {
        const product = toNewProduct(request.body);
        return deps.respond<Product>(
          request,
          reply,
          routePrincipal(request),
          (afterEffect) => deps.inventory.create(product, afterEffect),
          (created) => ({ statusCode: 201, payload: ok(201, 'Product created', presentProduct(created)) }),
        );
      },
    );

    app.patch(
      '/inventory/:sku',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['inventory'],
          summary: 'Edit a product: name, price, purchase limit',
          params: SkuParams,
          body: UpdateProductBody,
          response: { 200: Envelope(ProductView), ...refusals({ 400: ['VALIDATION_ERROR'], 404: ['PRODUCT_NOT_FOUND'] }) },
        },
      },
      async (request, reply) => {
        const changes = toChanges(request.body);
        return deps.respond<Product>(
          request,
          reply,
          routePrincipal(request),
          (afterEffect) => deps.inventory.update(request.params.sku, changes, afterEffect),
          (product) => ({ statusCode: 200, payload: ok(200, 'Product updated', presentProduct(product)) }),
        );
      },
    );

    app.post(
      '/inventory/:sku/restock',
      {
        bodyLimit: BODY_LIMITS.counts,
        config: { access: 'admin' },
        schema: {
          tags: ['inventory'],
          params: SkuParams,
          body: RestockBody,
          response: { 200: Envelope(ProductView), ...refusals({ 400: ['VALIDATION_ERROR'], 404: ['PRODUCT_NOT_FOUND'] }) },
        },
      },
      async (request, reply) =>
        deps.respond<Product>(
          request,
          reply,
          routePrincipal(request),
          (afterEffect) => deps.inventory.changeStock(request.params.sku, { reason: 'RECEIVE', delta: request.body.quantity }, afterEffect),
          (product) => ({ statusCode: 200, payload: ok(200, 'Stock received', presentProduct(product)) }),
        ),
    );

    app.post(
      '/inventory/:sku/adjust',
      {
        bodyLimit: BODY_LIMITS.counts,
        config: { access: 'admin' },
        schema: {
          tags: ['inventory'],
          params: SkuParams,
          body: AdjustBody,
          response: { 200: Envelope(ProductView), ...refusals({ 400: ['VALIDATION_ERROR', 'INSUFFICIENT_INVENTORY'], 404: ['PRODUCT_NOT_FOUND'] }) },
        },
      },
      async (request, reply) => {
        if (request.body.delta === 0) throw validation('delta', 'must not be 0');
        return deps.respond<Product>(
          request,
          reply,
          routePrincipal(request),
          (afterEffect) => deps.inventory.changeStock(request.params.sku, { reason: 'ADJUST', delta: request.body.delta }, afterEffect),
          (product) => ({ statusCode: 200, payload: ok(200, 'Stock adjusted', presentProduct(product)) }),
        );
      },
    );
  };
