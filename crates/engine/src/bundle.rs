//! Atomic bundles (a child module of `engine`, so it sees the engine's private state).
//!
//! A bundle's legs are executed in order, each exactly as a limit order with its time in
//! force (`IOC` or `FOK`) would be: same locks, fees, self-trade prevention and events,
//! with the leg's order id [`Bundle::leg_order_id`]. Then:
//!
//! * a leg refused as an order would be fails the bundle with
//!   [`Rejection::BundleLegFailed`] (its cause inside);
//! * a leg that filled less than its whole quantity fails it with
//!   [`Rejection::BundleLegUnfilled`];
//! * a net bound the sender's balance change misses fails it with
//!   [`Rejection::BundleNetBelowMinimum`].
//!
//! A failed bundle is rolled back completely (the nonce stays consumed). The rollback
//! restores a **savepoint** of everything the legs could touch, taken before the first
//! leg: immediate legs never rest, so the only orders they can change are those on the
//! crossing levels they walk, in priority order, until the legs' total quantity of other
//! accounts' liquidity is covered. The savepoint holds those levels, their orders and the
//! account-list neighbours of those orders, the accounts owning them, the sender, the fee
//! account, the counters and the root accumulator, and the lengths of every append-only
//! list (events, dirty lists, freed slots). Its cost is proportional to the liquidity the
//! bundle could take, not to the size of the books.

use super::{crosses, Account, Engine, Level, Slot, NIL};
use crate::events::{Event, Rejection};
use crate::root::Accumulator;
use crate::state::OrderRecord;
use crate::state::{Balance, Counters};
use ledger_types::decimal::to_units;
use ledger_types::{AssetId, Bundle, OrderKind, PlaceOrder, Side, TxHash};
use std::collections::{BTreeMap, BTreeSet};

/// What a bundle may change, as it was before the first leg.
struct Savepoint {
    /// Each saved account with its balances.
    accounts: Vec<(u32, Account, Vec<Balance>)>,
    /// Each saved slot with its order.
    slots: Vec<(u32, Slot, OrderRecord)>,
    levels: Vec<(usize, Side, u64, Level)>,
    counters: Counters,
    acc: Accumulator,
    dirty_accounts: usize,
    dirty_slots: usize,
    removed_orders: usize,
    events: usize,
    free_slots: usize,
}

/// A leg resolved against its market: market index, taker side, limit in ticks, lots.
#[derive(Clone, Copy)]
struct Resolved {
    market: usize,
    side: Side,
    limit: u64,
    lots: u64,
}

impl Engine {
    /// Executes a bundle for account `a` (its nonce already consumed); all or nothing.
    pub(super) fn bundle(&mut self, a: u32, tx: TxHash, b: &Bundle) -> Result<(), Rejection> {
        b.check_shape().map_err(|e| Rejection::InvalidBundle {
            detail: e.to_string(),
        })?;
        let fail = |leg: usize, cause: Rejection| Rejection::BundleLegFailed {
            leg: leg as u32,
            cause: Box::new(cause),
        };
        let mut resolved = Vec::with_capacity(b.legs.len());
        for (i, leg) in b.legs.iter().enumerate() {
            let cfg = self
                .markets
                .get(leg.market.0 as usize)
                .ok_or_else(|| fail(i, Rejection::UnknownMarket(leg.market)))?;
            let limit = cfg
                .price_to_ticks(leg.price)
                .ok_or_else(|| fail(i, Rejection::InvalidPrice))?;
            let lots = cfg
                .quantity_to_lots(leg.quantity)
                .ok_or_else(|| fail(i, Rejection::InvalidQuantity))?;
            resolved.push(Resolved {
                market: leg.market.0 as usize,
                side: leg.side,
                limit,
                lots,
            });
        }
        let mut bounds = Vec::with_capacity(b.min_net.len());
        for (i, nb) in b.min_net.iter().enumerate() {
            let decimals = self
                .asset_decimals
                .get(nb.asset.0 as usize)
                .copied()
                .ok_or(Rejection::UnknownAsset(nb.asset))?;
            let units = to_units(nb.min.abs(), decimals)
                .and_then(|u| i128::try_from(u).ok())
                .ok_or_else(|| Rejection::InvalidBundle {
                    detail: format!(
                        "net bound {i}: {} is not a whole number of the asset's smallest units",
                        nb.min
                    ),
                })?;
            bounds.push((
                nb.asset,
                if nb.min.is_sign_negative() {
                    -units
                } else {
                    units
                },
            ));
        }

        let before = self.total_of(a);
        let savepoint = self.savepoint(a, &resolved);
        for (i, (leg, r)) in b.legs.iter().zip(&resolved).enumerate() {
            let id = Bundle::leg_order_id(&tx, i);
            let start = self.events.len();
            let order = PlaceOrder {
                market: leg.market,
                side: leg.side,
                kind: OrderKind::Limit,
                price: Some(leg.price),
                quantity: leg.quantity,
                time_in_force: leg.time_in_force,
                client_order_id: leg.client_order_id,
                self_trade: leg.self_trade,
                good_till_height: None,
            };
            if let Err(cause) = self.place(a, id, &order) {
                self.rollback(savepoint);
                return Err(fail(i, cause));
            }
            let filled: u64 = self.events[start..]
                .iter()
                .map(|e| match e {
                    Event::Fill(f) if f.taker_order == id => f.quantity,
                    _ => 0,
                })
                .sum();
            if filled < r.lots {
                self.rollback(savepoint);
                return Err(Rejection::BundleLegUnfilled {
                    leg: i as u32,
                    filled,
                    quantity: r.lots,
                });
            }
        }
        let after = self.total_of(a);
        let net: Vec<i128> = before
            .iter()
            .zip(&after)
            .map(|(b, a)| *a as i128 - *b as i128)
            .collect();
        for (asset, min) in bounds {
            let got = net[asset.0 as usize];
            if got < min {
                self.rollback(savepoint);
                return Err(Rejection::BundleNetBelowMinimum {
                    asset,
                    net: got,
                    min,
                });
            }
        }
        let account = self.accounts[a as usize].key;
        self.events.push(Event::BundleExecuted {
            account,
            legs: b.legs.len() as u32,
            net: net
                .iter()
                .enumerate()
                .filter(|(_, n)| **n != 0)
                .map(|(i, n)| (AssetId(i as u32), *n))
                .collect(),
        });
        Ok(())
    }

    /// Free plus locked balance of every asset of account `a`.
    fn total_of(&self, a: u32) -> Vec<u128> {
        self.bals(a).iter().map(|b| b.free + b.locked).collect()
    }

    /// Saves everything the legs could change (see the module docs).
    fn savepoint(&self, sender: u32, legs: &[Resolved]) -> Savepoint {
        // Per (market, taker side): the loosest limit and the total quantity wanted.
        let mut groups: BTreeMap<(usize, Side), (u64, u64)> = BTreeMap::new();
        for r in legs {
            let e = groups.entry((r.market, r.side)).or_insert((r.limit, 0));
            e.0 = match r.side {
                Side::Buy => e.0.max(r.limit),
                Side::Sell => e.0.min(r.limit),
            };
            e.1 = e.1.saturating_add(r.lots);
        }
        let mut slots: BTreeSet<u32> = BTreeSet::new();
        let mut levels = Vec::new();
        for (&(m, side), &(limit, want)) in &groups {
            let mut others = 0u64;
            for (price, level) in self.books[m].side(side.opposite()).best_first() {
                if !crosses(side, Some(limit), price) {
                    break;
                }
                levels.push((m, side.opposite(), price, *level));
                let mut s = level.head;
                while s != NIL {
                    let slot = &self.slots[s as usize];
                    slots.insert(s);
                    if slot.acct != sender {
                        others = others.saturating_add(self.orders[s as usize].remaining);
                    }
                    s = slot.next;
                }
                if others >= want {
                    break;
                }
            }
        }
        let mut accounts: BTreeSet<u32> = BTreeSet::from([sender, self.fee_account]);
        let mut neighbours = Vec::new();
        for &s in &slots {
            let slot = &self.slots[s as usize];
            accounts.insert(slot.acct);
            neighbours.extend(
                [slot.acct_prev, slot.acct_next]
                    .into_iter()
                    .filter(|n| *n != NIL),
            );
        }
        slots.extend(neighbours);
        Savepoint {
            accounts: accounts
                .into_iter()
                .map(|a| (a, self.accounts[a as usize].clone(), self.bals(a).to_vec()))
                .collect(),
            slots: slots
                .into_iter()
                .map(|s| {
                    let i = s as usize;
                    (s, self.slots[i], self.orders[i].clone())
                })
                .collect(),
            levels,
            counters: self.counters,
            acc: self.acc,
            dirty_accounts: self.dirty_accounts.len(),
            dirty_slots: self.dirty_slots.len(),
            removed_orders: self.removed_orders.len(),
            events: self.events.len(),
            free_slots: self.free_slots.len(),
        }
    }

    /// Puts back everything a savepoint holds.
    fn rollback(&mut self, sp: Savepoint) {
        debug_assert!(
            self.dirty_accounts[sp.dirty_accounts..]
                .iter()
                .all(|a| sp.accounts.iter().any(|(s, _, _)| s == a)),
            "a bundle touched an account outside its savepoint"
        );
        debug_assert!(
            self.dirty_slots[sp.dirty_slots..]
                .iter()
                .all(|d| sp.slots.iter().any(|(s, ..)| s == d)),
            "a bundle touched an order outside its savepoint"
        );
        for (a, acct, balances) in sp.accounts {
            self.accounts[a as usize] = acct;
            self.bals_mut(a).copy_from_slice(&balances);
        }
        for (s, slot, order) in sp.slots {
            self.orders[s as usize] = order;
            let order = &self.orders[s as usize];
            if slot.live {
                if self.slot_of(&order.id).is_none() {
                    self.order_index.insert(s, &self.orders);
                }
                if let Some(cid) = order.client_order_id {
                    self.client_index.insert((slot.acct, cid), s);
                }
                // A good-till order a leg filled away is good-till again.
                if let Some(gt) = order.good_till_height {
                    self.gtd.insert((gt, order.seq), order.id);
                }
            }
            self.slots[s as usize] = slot;
        }
        for (m, side, price, level) in sp.levels {
            self.books[m].side_mut(side).insert(price, level);
        }
        self.counters = sp.counters;
        self.acc = sp.acc;
        self.dirty_accounts.truncate(sp.dirty_accounts);
        self.dirty_slots.truncate(sp.dirty_slots);
        self.removed_orders.truncate(sp.removed_orders);
        self.events.truncate(sp.events);
        self.free_slots.truncate(sp.free_slots);
    }
}
