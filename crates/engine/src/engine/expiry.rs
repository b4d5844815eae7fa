//! Time in blocks: transactions' `valid_until_height` (checked in `Engine::apply`),
//! good-till-height orders, and the per-account dead man's switch (`schedule_cancel`).

use super::{Engine, RemoveWhy, NIL};
use crate::events::{CancelReason, Event, ExpireReason, Rejection};
use ledger_types::ScheduleCancel;

impl Engine {
    /// Starts the block at `height`, before its transactions: every dead man's switch
    /// armed for a height `<= height` fires (all open orders of its account are
    /// cancelled with reason `scheduled`, oldest first, and the switch is cleared),
    /// then every good-till order whose height is below `height` expires (reason
    /// `good_till`, in order of good-till height, then time priority). The events go
    /// to [`Engine::take_events`] ([`Engine::execute_block_at`] reports them as the
    /// block's own events). Transactions applied afterwards see `height` as the current
    /// block height.
    pub fn begin_block(&mut self, height: u64) {
        self.counters.height = height;
        while let Some(&(at, a)) = self.schedules.first() {
            if at > height {
                break;
            }
            self.schedules.pop_first();
            self.accounts[a as usize].cancel_at = None;
            self.touch_account(a);
            let mut victims = Vec::new();
            let mut s = self.accounts[a as usize].orders_head;
            while s != NIL {
                victims.push(s);
                s = self.slots[s as usize].acct_next;
            }
            for s in victims {
                self.remove_resting(s, RemoveWhy::Cancelled(CancelReason::Scheduled));
            }
        }
        while let Some((&(good_till, seq), &id)) = self.gtd.first_key_value() {
            if good_till >= height {
                break;
            }
            match self.slot_of(&id) {
                // Removing the order also removes its `gtd` entry.
                Some(s) => self.remove_resting(s, RemoveWhy::Expired(ExpireReason::GoodTill)),
                None => {
                    self.gtd.remove(&(good_till, seq));
                }
            }
        }
    }

    /// The height of the block being executed (the last one begun).
    pub fn height(&self) -> u64 {
        self.counters.height
    }

    /// Arms, moves or clears account `a`'s dead man's switch.
    pub(super) fn schedule_cancel(&mut self, a: u32, sc: &ScheduleCancel) -> Result<(), Rejection> {
        if let Some(h) = sc.at_height {
            if h <= self.counters.height {
                return Err(Rejection::ScheduleNotInFuture {
                    at_height: h,
                    height: self.counters.height,
                });
            }
        }
        if let Some(old) = self.accounts[a as usize].cancel_at.take() {
            self.schedules.remove(&(old, a));
        }
        if let Some(h) = sc.at_height {
            self.schedules.insert((h, a));
            self.accounts[a as usize].cancel_at = Some(h);
        }
        self.touch_account(a);
        self.events.push(Event::CancelScheduled {
            account: self.accounts[a as usize].key,
            at_height: sc.at_height,
        });
        Ok(())
    }

    /// The expiry indexes agree with the orders and accounts.
    pub(super) fn check_expiry_invariants(&self) -> Result<(), String> {
        let live_gtd = self
            .slots
            .iter()
            .zip(&self.orders)
            .filter(|(s, o)| s.live && o.good_till_height.is_some())
            .count();
        if live_gtd != self.gtd.len() {
            return Err(format!(
                "{} good-till entries for {live_gtd} good-till orders",
                self.gtd.len()
            ));
        }
        for (&(gt, seq), id) in &self.gtd {
            let ok = self.slot_of(id).is_some_and(|s| {
                let o = &self.orders[s as usize];
                o.good_till_height == Some(gt) && o.seq == seq
            });
            if !ok {
                return Err(format!("good-till entry of order {id} is stale"));
            }
        }
        let armed = self
            .accounts
            .iter()
            .filter(|a| a.cancel_at.is_some())
            .count();
        if armed != self.schedules.len() {
            return Err(format!(
                "{} scheduled cancels for {armed} armed accounts",
                self.schedules.len()
            ));
        }
        for &(h, a) in &self.schedules {
            if self.accounts.get(a as usize).and_then(|x| x.cancel_at) != Some(h) {
                return Err(format!("scheduled cancel at {h} of account #{a} is stale"));
            }
        }
        Ok(())
    }
}
