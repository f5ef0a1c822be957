//! `TrustPolicy`: which signed records a node believes, and the [`Verdict`] for one module
//! version.
//!
//! Signers are compared on what peers can agree on: the go.mod `h1:` and the zip `h1:`
//! ([`ClaimedHashes`]), never the zip's SHA-256, since two honest nodes can build different zip
//! bytes with the same `h1:`. Two claims *conflict* when their go.mod hashes differ, or when both
//! name a zip hash and those differ; a `.mod`-only claim is compatible with a full claim that
//! has the same go.mod hash.
//!
//! The policy fails closed:
//! - Records from the node's own key and from configured trusted signers are believed alone.
//!   If any two of them conflict (including one trusted key equivocating), the verdict is
//!   [`Verdict::Conflict`]; it is never resolved by counting.
//! - If the node's own record conflicts with *any* other record, trusted or not, the verdict is
//!   also a conflict. The node keeps serving the bytes it pinned first (its own record's
//!   hashes, reported as `own`), and the caller keeps both signed records as evidence: a moved
//!   tag or a lying peer must leave a trace, but cannot change what was served.
//! - Everyone else counts only in a quorum: at least `quorum` distinct signers making the same
//!   claim. A signer that signed conflicting claims counts for none of them. Two quorums that
//!   conflict are a conflict. Untrusted records that disagree with an accepted claim are listed
//!   as `dissent` and do not block it (keys cost nothing to make, so a minority of strangers
//!   must not be able to veto trusted signers).
//! - With no trusted record and no quorum, nothing is accepted.
//!
//! A quorum counts keys, and keys are free: a quorum of strangers is only as strong as the
//! pool's admission of keys. Pools open to anyone should rely on trusted signers.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU8;

use crate::hash::H1Hash;
use crate::module_path::ModulePath;
use crate::provenance::ProvenanceRecord;
use crate::signing::{SignerId, VerifiedRecord};
use crate::version::Version;

/// Whose records a node believes (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    trusted: BTreeSet<SignerId>,
    own: SignerId,
    quorum: NonZeroU8,
}

/// The hashes a record vouches for: what signers must agree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClaimedHashes {
    /// The go.mod `h1:`.
    pub go_mod_h1: H1Hash,
    /// The zip `h1:`, or `None` for a `.mod`-only claim.
    pub zip_h1: Option<H1Hash>,
}

/// One set of hashes and every signer that vouched for exactly it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The hashes.
    pub hashes: ClaimedHashes,
    /// The distinct signers of records with these hashes.
    pub signers: BTreeSet<SignerId>,
}

/// Why hashes were accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcceptReason {
    /// The node's own key or a configured trusted signer vouched for them.
    TrustedSigner,
    /// At least `quorum` distinct signers agreed on them.
    Quorum,
}

/// What the policy concludes about one module version's records.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// These hashes may be used.
    Accepted {
        /// The accepted hashes.
        hashes: ClaimedHashes,
        /// The signers whose records justify accepting them.
        vouched_by: BTreeSet<SignerId>,
        /// Trusted signers, or a quorum.
        reason: AcceptReason,
        /// Claims by untrusted signers that conflict with the accepted hashes (evidence only).
        dissent: Vec<Claim>,
    },
    /// No trusted signer has a record, and no claim reaches the quorum.
    NotEnoughTrust {
        /// Every claim seen (possibly none).
        claims: Vec<Claim>,
        /// The number of agreeing signers needed.
        quorum: NonZeroU8,
    },
    /// Signers that must not disagree do: nothing new is accepted; keep the evidence.
    Conflict {
        /// Every claim seen.
        claims: Vec<Claim>,
        /// The node's own claim, if it has one: the bytes it keeps serving.
        own: Option<ClaimedHashes>,
    },
}

impl TrustPolicy {
    /// The quorum used when none is configured.
    pub const DEFAULT_QUORUM: NonZeroU8 = NonZeroU8::MIN.saturating_add(1);

    /// A policy trusting `own` and each of `trusted`, with `quorum` for everyone else.
    pub fn new(
        own: SignerId,
        trusted: impl IntoIterator<Item = SignerId>,
        quorum: NonZeroU8,
    ) -> TrustPolicy {
        TrustPolicy {
            trusted: trusted.into_iter().collect(),
            own,
            quorum,
        }
    }

    /// Whether `signer` is believed alone (the node's own key or a configured trusted signer).
    pub fn is_trusted(&self, signer: &SignerId) -> bool {
        *signer == self.own || self.trusted.contains(signer)
    }

    /// The node's own signing key.
    pub fn own(&self) -> SignerId {
        self.own
    }

    /// The number of agreeing untrusted signers that makes a quorum.
    pub fn quorum(&self) -> NonZeroU8 {
        self.quorum
    }

    /// The verdict for `module@version`, from `records` (records about other module versions
    /// are ignored).
    pub fn verdict(
        &self,
        module: &ModulePath,
        version: &Version,
        records: &[VerifiedRecord],
    ) -> Verdict {
        let claims = claims_for(module, version, records);
        let cheats = equivocators(&claims);
        let own = merge(claims.iter().filter(|c| c.signers.contains(&self.own)));
        if self.has_conflict(&claims, &cheats, own) {
            return Verdict::Conflict { claims, own };
        }
        let trusted: Vec<&Claim> = claims
            .iter()
            .filter(|c| c.signers.iter().any(|s| self.is_trusted(s)))
            .collect();
        if let Some(hashes) = merge(trusted.iter().copied()) {
            let vouched_by = signers(&trusted, |s| self.is_trusted(s));
            return accepted(hashes, vouched_by, AcceptReason::TrustedSigner, &claims);
        }
        self.quorum_verdict(claims, &cheats)
    }

    /// Whether trusted signers disagree, a trusted signer equivocates, or anyone disagrees with
    /// the node's own claim.
    fn has_conflict(
        &self,
        claims: &[Claim],
        cheats: &BTreeSet<SignerId>,
        own: Option<ClaimedHashes>,
    ) -> bool {
        let trusted = claims
            .iter()
            .filter(|c| c.signers.iter().any(|s| self.is_trusted(s)));
        let trusted_disagree = trusted.clone().next().is_some() && merge(trusted).is_none();
        let own_disputed = own.is_some_and(|own| claims.iter().any(|c| c.hashes.conflicts(&own)));
        let own_equivocates = claims.iter().any(|c| c.signers.contains(&self.own)) && own.is_none();
        let trusted_cheat = cheats.iter().any(|s| self.is_trusted(s));
        trusted_disagree || own_disputed || own_equivocates || trusted_cheat
    }

    fn quorum_verdict(&self, claims: Vec<Claim>, cheats: &BTreeSet<SignerId>) -> Verdict {
        let honest = |c: &Claim| c.signers.difference(cheats).count();
        let reached: Vec<&Claim> = claims
            .iter()
            .filter(|c| honest(c) >= usize::from(self.quorum.get()))
            .collect();
        if reached.is_empty() {
            return Verdict::NotEnoughTrust {
                claims,
                quorum: self.quorum,
            };
        }
        match merge(reached.iter().copied()) {
            Some(hashes) => {
                let vouched_by = signers(&reached, |s| !cheats.contains(s));
                accepted(hashes, vouched_by, AcceptReason::Quorum, &claims)
            }
            None => Verdict::Conflict { claims, own: None },
        }
    }
}

impl ClaimedHashes {
    /// The hashes `record` vouches for.
    pub fn of(record: &ProvenanceRecord) -> ClaimedHashes {
        ClaimedHashes {
            go_mod_h1: *record.go_mod_h1(),
            zip_h1: record.zip().map(|zip| zip.h1),
        }
    }

    /// Whether both claims cannot be true together (see the module docs).
    pub fn conflicts(&self, other: &ClaimedHashes) -> bool {
        let zips_differ = matches!((self.zip_h1, other.zip_h1), (Some(a), Some(b)) if a != b);
        self.go_mod_h1 != other.go_mod_h1 || zips_differ
    }
}

/// Groups the records about `module@version` by the hashes they claim.
fn claims_for(module: &ModulePath, version: &Version, records: &[VerifiedRecord]) -> Vec<Claim> {
    let mut groups: BTreeMap<ClaimedHashes, BTreeSet<SignerId>> = BTreeMap::new();
    let relevant = records
        .iter()
        .filter(|r| r.record().module() == module && r.record().version() == version);
    for verified in relevant {
        let hashes = ClaimedHashes::of(verified.record());
        groups.entry(hashes).or_default().insert(verified.signer());
    }
    groups
        .into_iter()
        .map(|(hashes, signers)| Claim { hashes, signers })
        .collect()
}

/// Signers that signed two conflicting claims.
fn equivocators(claims: &[Claim]) -> BTreeSet<SignerId> {
    let mut cheats = BTreeSet::new();
    for (i, a) in claims.iter().enumerate() {
        for b in claims
            .iter()
            .skip(i + 1)
            .filter(|b| a.hashes.conflicts(&b.hashes))
        {
            cheats.extend(a.signers.intersection(&b.signers).copied());
        }
    }
    cheats
}

/// The one set of hashes all `claims` are compatible with (the most specific), or `None` if
/// there are no claims or two of them conflict.
fn merge<'a>(claims: impl IntoIterator<Item = &'a Claim>) -> Option<ClaimedHashes> {
    let mut merged: Option<ClaimedHashes> = None;
    for claim in claims {
        let next = claim.hashes;
        merged = match merged {
            None => Some(next),
            Some(acc) if acc.conflicts(&next) => return None,
            Some(acc) => Some(ClaimedHashes {
                zip_h1: acc.zip_h1.or(next.zip_h1),
                ..acc
            }),
        };
    }
    merged
}

/// The signers of `claims` that pass `keep`.
fn signers(claims: &[&Claim], keep: impl Fn(&SignerId) -> bool) -> BTreeSet<SignerId> {
    claims
        .iter()
        .flat_map(|c| c.signers.iter().copied())
        .filter(|s| keep(s))
        .collect()
}

fn accepted(
    hashes: ClaimedHashes,
    vouched_by: BTreeSet<SignerId>,
    reason: AcceptReason,
    claims: &[Claim],
) -> Verdict {
    let dissent = claims
        .iter()
        .filter(|c| c.hashes.conflicts(&hashes))
        .cloned()
        .collect();
    Verdict::Accepted {
        hashes,
        vouched_by,
        reason,
        dissent,
    }
}

#[cfg(test)]
mod tests;
