//! Amending an open order: a new price and/or a new total quantity, with the queue
//! priority rules of Binance and Coinbase.

use super::{crosses, Engine, RemoveWhy, NIL};
use crate::events::{Event, Rejection};
use crate::market::{fee, BPS};
use crate::state::OrderRecord;
use ledger_types::{AmendOrder, OrderRef, Side};

impl Engine {
    /// Amends an open order of account `a`.
    ///
    /// * The new `quantity` is the order's new total quantity and must exceed what has
    ///   already filled (`amend_below_filled`); it obeys the lot size and minimum size.
    /// * Priority is **kept** when the price is unchanged and the quantity decreases
    ///   (the order is reduced in place); a new price or a larger quantity **loses** it:
    ///   the order gets a new sequence number and goes to the back of its price level.
    /// * An amendment never trades: a new price that would cross the best opposite order
    ///   is rejected (`amend_would_cross`) and the order is left unchanged.
    /// * The order's lock is recomputed for its new open quantity at its new price, as at
    ///   placement; extra funds come from the free balance (`insufficient_balance`
    ///   otherwise), surplus returns to it.
    /// * Unchanged price and quantity: accepted, nothing happens.
    pub(super) fn amend(&mut self, a: u32, am: &AmendOrder) -> Result<(), Rejection> {
        if am.price.is_none() && am.quantity.is_none() {
            return Err(Rejection::EmptyAmend);
        }
        let slot = match am.order {
            OrderRef::OrderId(id) => self.slot_of(&id),
            OrderRef::ClientOrderId(cid) => self.client_index.get(&(a, cid)).copied(),
        };
        let s = match slot {
            Some(s) if self.slots[s as usize].acct == a => s,
            _ => return Err(Rejection::OrderNotFound),
        };
        let old = self.orders[s as usize].clone();
        let m = old.market.0 as usize;
        let cfg = &self.markets[m];
        let price = match am.price {
            Some(p) => cfg.price_to_ticks(p).ok_or(Rejection::InvalidPrice)?,
            None => old.price,
        };
        let quantity = match am.quantity {
            Some(q) => {
                let lots = cfg.quantity_to_lots(q).ok_or(Rejection::InvalidQuantity)?;
                if lots < cfg.min_lots {
                    return Err(Rejection::BelowMinSize {
                        min_lots: cfg.min_lots,
                    });
                }
                lots
            }
            None => old.quantity,
        };
        let filled = old.quantity - old.remaining;
        if quantity <= filled {
            return Err(Rejection::AmendBelowFilled {
                filled_lots: filled,
            });
        }
        if price == old.price && quantity == old.quantity {
            return Ok(());
        }
        let remaining = quantity - filled;
        if price != old.price {
            if let Some((best, _)) = self.books[m].best(old.side.opposite()) {
                if crosses(old.side, Some(price), best) {
                    return Err(Rejection::AmendWouldCross);
                }
            }
        }
        let (asset, lock) = match old.side {
            Side::Buy => {
                let n = cfg
                    .notional(price, quantity)
                    .filter(|n| *n <= u128::MAX / BPS)
                    .ok_or(Rejection::Overflow)?;
                // `remaining <= quantity`, so this notional fits too.
                let n = cfg.notional(price, remaining).unwrap_or(n);
                (cfg.quote, n + fee(n, cfg.max_fee_bps()))
            }
            Side::Sell => (
                cfg.base,
                cfg.base_units(remaining).ok_or(Rejection::Overflow)?,
            ),
        };
        let bal = self.bal(a, asset.0 as usize);
        let available = bal.free + old.locked;
        if lock > available {
            return Err(Rejection::InsufficientBalance {
                asset,
                needed: lock,
                available,
            });
        }

        // ---- Commit point.
        let priority_kept = price == old.price && quantity < old.quantity;
        if priority_kept {
            let bal = self.bal_mut(a, asset.0 as usize);
            bal.free = bal.free + old.locked - lock;
            bal.locked = bal.locked - old.locked + lock;
            let level = self.books[m]
                .side_mut(old.side)
                .get_mut(old.price)
                .expect("a resting order's level exists");
            level.lots -= old.remaining - remaining;
            let o = &mut self.orders[s as usize];
            o.quantity = quantity;
            o.remaining = remaining;
            o.locked = lock;
            self.touch_slot(s);
            self.touch_account(a);
        } else {
            // Off the book (its lock returns to free), then back at the tail of the new
            // level with a new sequence number and the new lock.
            self.remove_resting(s, RemoveWhy::Replaced);
            let bal = self.bal_mut(a, asset.0 as usize);
            bal.free -= lock;
            bal.locked += lock;
            let order = OrderRecord {
                price,
                quantity,
                remaining,
                locked: lock,
                seq: self.counters.next_seq,
                ..old.clone()
            };
            self.counters.next_seq += 1;
            self.insert_resting(a, order);
        }
        debug_assert!(self.slot_of(&old.id).is_some());
        debug_assert_ne!(self.accounts[a as usize].orders_head, NIL);
        self.events.push(Event::OrderAmended {
            order_id: old.id,
            client_order_id: old.client_order_id,
            account: old.account,
            market: old.market,
            side: old.side,
            price,
            quantity,
            remaining,
            priority_kept,
        });
        Ok(())
    }
}
