// Emmett's shared event-store feature suite, ported: Emmett runs `testAggregateStream(factory,
// { getInitialIndex })` (src/packages/emmett/src/testing/features.ts in Emmett's repository)
// against each of its stores. It is not published on npm (there is no
// @event-driven-io/emmett-tests, and @event-driven-io/emmett ships only its dist/), so its cases
// are ported here as written, with Emmett 0.42's option name `initialState`, and run against
// evstore/emmett — and against Emmett's own in-memory store, the reference, so that the port is
// checked too.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { getInMemoryEventStore } from "@event-driven-io/emmett";
import { EventStore } from "evstore";
import { getEmmettEventStore } from "evstore/emmett";

// Emmett's test domain (testing/shoppingCart.domain.ts): a cart with priced items and discounts.
const evolveCart = (state, type, data) => {
  switch (type) {
    case "ProductItemAdded":
      return { productItems: [...state.productItems, data.productItem], totalAmount: state.totalAmount + data.productItem.price * data.productItem.quantity };
    case "DiscountApplied":
      return { ...state, totalAmount: state.totalAmount * (1 - data.percent / 100) };
    default:
      return state;
  }
};
const evolve = (state, { type, data }) => evolveCart(state, type, data);
const evolveWithMetadata = (state, event) => {
  assert.ok(event.metadata, "a read event carries its metadata");
  return evolveCart(state, event.type, event.data);
};
const initialState = () => ({ productItems: [], totalAmount: 0 });

/** Emmett's `testAggregateStream`: "When called with 'to' allows time traveling", per evolve. */
function testAggregateStream(name, eventStoreFactory, { getInitialIndex } = { getInitialIndex: () => 1n }) {
  describe(`${name}: aggregateStream`, () => {
    for (const [fold, info] of [
      [evolve, "evolve with raw event"],
      [evolveWithMetadata, "evolve with event and metadata"],
    ]) {
      test(`When called with 'to' allows time traveling using ${info}`, async () => {
        const eventStore = await eventStoreFactory();
        const productItem = { productId: "123", quantity: 10, price: 3 };
        const shoppingCartId = randomUUID();
        await eventStore.appendToStream(shoppingCartId, [{ type: "ProductItemAdded", data: { productItem } }]);
        await eventStore.appendToStream(shoppingCartId, [{ type: "ProductItemAdded", data: { productItem } }]);
        await eventStore.appendToStream(shoppingCartId, [{ type: "DiscountApplied", data: { percent: 10 } }]);

        const at1 = await eventStore.aggregateStream(shoppingCartId, { evolve: fold, initialState, read: { to: 1n } });
        const at2 = await eventStore.aggregateStream(shoppingCartId, { evolve, initialState, read: { to: 2n } });
        const at3 = await eventStore.aggregateStream(shoppingCartId, { evolve, initialState, read: { to: 3n } });

        assert.equal(at1.currentStreamVersion, getInitialIndex());
        assert.deepEqual(at1.state, { productItems: [productItem], totalAmount: 30 });
        assert.equal(at2.currentStreamVersion, getInitialIndex() + 1n);
        assert.deepEqual(at2.state, { productItems: [productItem, productItem], totalAmount: 60 });
        assert.equal(at3.currentStreamVersion, getInitialIndex() + 2n);
        assert.deepEqual(at3.state, { productItems: [productItem, productItem], totalAmount: 54 });
      });
    }
  });
}

testAggregateStream("Emmett's in-memory store (the reference)", async () => getInMemoryEventStore());
testAggregateStream("evstore/emmett on the memory storage", async () => getEmmettEventStore(await EventStore.open({ storage: "memory" })));
