//! Access rules: levels granted by tags (any of, all of, none of), a member's levels, the
//! preview of a tag sync, and the impact of editing rules across the whole directory — the same
//! code on the server and, compiled to wasm, in the admin page.

use super::hashing::KeyedMap;
use super::text::lowercase;
use std::collections::BTreeSet;

use super::contact::Tag;

/// A rule: members whose tags match get `level`. Tag references are tag ids or tag names
/// (names compare case-insensitively). A rule with neither `anyOf` nor `allOf` grants nothing:
/// it would otherwise grant its level to everyone not excluded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rule {
    pub id: String,
    pub level: String,
    pub any_of: Vec<String>,
    pub all_of: Vec<String>,
    pub none_of: Vec<String>,
}

crate::json_struct!(
    #[defaults]
    Rule {
        id: "id",
        level: "level",
        any_of: "anyOf",
        all_of: "allOf",
        none_of: "noneOf",
    }
);

fn matches(tag: &Tag, reference: &str) -> bool {
    let r = reference.trim();
    tag.id.as_deref() == Some(r)
        || tag
            .name
            .as_deref()
            .is_some_and(|n| lowercase(n.trim()) == lowercase(r))
}

fn has(tags: &[Tag], reference: &str) -> bool {
    tags.iter().any(|t| matches(t, reference))
}

impl Rule {
    pub fn grants(&self, tags: &[Tag]) -> bool {
        if self.level.trim().is_empty() || (self.any_of.is_empty() && self.all_of.is_empty()) {
            return false;
        }
        (self.any_of.is_empty() || self.any_of.iter().any(|r| has(tags, r)))
            && self.all_of.iter().all(|r| has(tags, r))
            && !self.none_of.iter().any(|r| has(tags, r))
    }
}

/// The levels `tags` grant under `rules`, sorted.
pub fn levels(rules: &[Rule], tags: &[Tag]) -> Vec<String> {
    let set: BTreeSet<&str> = rules
        .iter()
        .filter(|r| r.grants(tags))
        .map(|r| r.level.as_str())
        .collect();
    set.into_iter().map(str::to_owned).collect()
}

/// What refreshing a member's tags from the CRM would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagSyncPreview {
    pub add: Vec<Tag>,
    pub remove: Vec<Tag>,
    pub keep: Vec<Tag>,
    pub levels_gained: Vec<String>,
    pub levels_lost: Vec<String>,
}

crate::json_struct!(
    #[to_only]
    TagSyncPreview {
        add: "add"[required],
        remove: "remove"[required],
        keep: "keep"[required],
        levels_gained: "levelsGained"[required],
        levels_lost: "levelsLost"[required],
    }
);

fn same(a: &Tag, b: &Tag) -> bool {
    match (&a.id, &b.id) {
        (Some(x), Some(y)) => x == y,
        _ => match (&a.name, &b.name) {
            (Some(x), Some(y)) => lowercase(x.trim()) == lowercase(y.trim()),
            _ => false,
        },
    }
}

pub fn preview_tag_sync(current: &[Tag], crm: &[Tag], rules: &[Rule]) -> TagSyncPreview {
    let add = crm
        .iter()
        .filter(|t| !current.iter().any(|c| same(c, t)))
        .cloned()
        .collect();
    let remove = current
        .iter()
        .filter(|c| !crm.iter().any(|t| same(c, t)))
        .cloned()
        .collect();
    let keep = current
        .iter()
        .filter(|c| crm.iter().any(|t| same(c, t)))
        .cloned()
        .collect();
    let before = levels(rules, current);
    let after = levels(rules, crm);
    TagSyncPreview {
        add,
        remove,
        keep,
        levels_gained: after
            .iter()
            .filter(|l| !before.contains(l))
            .cloned()
            .collect(),
        levels_lost: before
            .iter()
            .filter(|l| !after.contains(l))
            .cloned()
            .collect(),
    }
}

/// Every member's tags, interned once, so rule impacts can be recomputed per keystroke.
#[derive(Debug, Default)]
pub struct AccessIndex {
    /// Interned tag keys: `i:<id>` and `n:<lowercased name>`.
    keys: KeyedMap<String, u32>,
    /// Per member, the sorted interned keys of its tags.
    members: Vec<Vec<u32>>,
}

/// How one level's membership changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelImpact {
    pub level: String,
    pub before: u32,
    pub after: u32,
    pub gain: u32,
    pub lose: u32,
}

crate::json_struct!(
    #[to_only]
    LevelImpact {
        level: "level"[required],
        before: "before"[required],
        after: "after"[required],
        gain: "gain"[required],
        lose: "lose"[required],
    }
);

/// A rule compiled against an index: each reference becomes the interned keys it matches.
struct Compiled<'a> {
    level: usize,
    any_of: Vec<Vec<u32>>,
    all_of: Vec<Vec<u32>>,
    none_of: Vec<Vec<u32>>,
    rule: &'a Rule,
}

impl AccessIndex {
    pub fn new<'a>(members: impl IntoIterator<Item = &'a [Tag]>) -> AccessIndex {
        let mut index = AccessIndex::default();
        for tags in members {
            let mut keys: Vec<u32> = Vec::with_capacity(tags.len() * 2);
            for t in tags {
                if let Some(id) = &t.id {
                    keys.push(index.intern(format!("i:{}", id.trim())));
                }
                if let Some(n) = &t.name {
                    keys.push(index.intern(format!("n:{}", lowercase(n.trim()))));
                }
            }
            keys.sort_unstable();
            keys.dedup();
            index.members.push(keys);
        }
        index
    }

    fn intern(&mut self, key: String) -> u32 {
        let next = self.keys.len() as u32;
        *self.keys.entry(key).or_insert(next)
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    fn refs(&self, reference: &str) -> Vec<u32> {
        let r = reference.trim();
        [format!("i:{r}"), format!("n:{}", lowercase(r))]
            .iter()
            .filter_map(|k| self.keys.get(k).copied())
            .collect()
    }

    fn compile<'a>(&self, rules: &'a [Rule], levels: &mut Vec<String>) -> Vec<Compiled<'a>> {
        rules
            .iter()
            .map(|rule| {
                let level = match levels.iter().position(|l| *l == rule.level) {
                    Some(i) => i,
                    None => {
                        levels.push(rule.level.clone());
                        levels.len() - 1
                    }
                };
                Compiled {
                    level,
                    any_of: rule.any_of.iter().map(|r| self.refs(r)).collect(),
                    all_of: rule.all_of.iter().map(|r| self.refs(r)).collect(),
                    none_of: rule.none_of.iter().map(|r| self.refs(r)).collect(),
                    rule,
                }
            })
            .collect()
    }

    /// How many members gain and lose each level when `before` is replaced by `after`.
    pub fn impact(&self, before: &[Rule], after: &[Rule]) -> Vec<LevelImpact> {
        let mut names: Vec<String> = Vec::new();
        let old = self.compile(before, &mut names);
        let new = self.compile(after, &mut names);
        let mut out: Vec<LevelImpact> = names
            .iter()
            .map(|l| LevelImpact {
                level: l.clone(),
                before: 0,
                after: 0,
                gain: 0,
                lose: 0,
            })
            .collect();
        let mut had = vec![false; names.len()];
        let mut has_now = vec![false; names.len()];
        for tags in &self.members {
            had.iter_mut().for_each(|b| *b = false);
            has_now.iter_mut().for_each(|b| *b = false);
            grant(&old, tags, &mut had);
            grant(&new, tags, &mut has_now);
            for (i, o) in out.iter_mut().enumerate() {
                o.before += had[i] as u32;
                o.after += has_now[i] as u32;
                o.gain += (!had[i] && has_now[i]) as u32;
                o.lose += (had[i] && !has_now[i]) as u32;
            }
        }
        out.retain(|o| !o.level.trim().is_empty());
        out
    }
}

fn holds(tags: &[u32], keys: &[u32]) -> bool {
    keys.iter().any(|k| tags.binary_search(k).is_ok())
}

fn grant(rules: &[Compiled], tags: &[u32], into: &mut [bool]) {
    for c in rules {
        if into[c.level]
            || c.rule.level.trim().is_empty()
            || (c.any_of.is_empty() && c.all_of.is_empty())
        {
            continue;
        }
        if (c.any_of.is_empty() || c.any_of.iter().any(|k| holds(tags, k)))
            && c.all_of.iter().all(|k| holds(tags, k))
            && !c.none_of.iter().any(|k| holds(tags, k))
        {
            into[c.level] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(level: &str, any: &[&str], all: &[&str], none: &[&str]) -> Rule {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect();
        Rule {
            id: level.into(),
            level: level.into(),
            any_of: v(any),
            all_of: v(all),
            none_of: v(none),
        }
    }

    #[test]
    fn rules_match_ids_and_names() {
        let tags = vec![Tag::id("91"), Tag::name("Newsletter")];
        assert!(rule("gold", &["91"], &[], &[]).grants(&tags));
        assert!(rule("news", &["newsletter"], &[], &[]).grants(&tags));
        assert!(!rule("both", &[], &["91", "95"], &[]).grants(&tags));
        assert!(!rule("gold-not-news", &["91"], &[], &["Newsletter"]).grants(&tags));
        assert!(
            !rule("empty", &[], &[], &["x"]).grants(&tags),
            "no positive condition grants nothing"
        );
        assert_eq!(
            levels(
                &[rule("b", &["91"], &[], &[]), rule("a", &["91"], &[], &[])],
                &tags
            ),
            ["a", "b"]
        );
    }

    #[test]
    fn preview_lists_changes_and_levels() {
        let rules = [
            rule("gold", &["91"], &[], &[]),
            rule("silver", &["97"], &[], &[]),
        ];
        let p = preview_tag_sync(
            &[Tag::id("91"), Tag::id("93")],
            &[Tag::id("93"), Tag::id("97")],
            &rules,
        );
        assert_eq!(p.add, [Tag::id("97")]);
        assert_eq!(p.remove, [Tag::id("91")]);
        assert_eq!(p.keep, [Tag::id("93")]);
        assert_eq!(p.levels_gained, ["silver"]);
        assert_eq!(p.levels_lost, ["gold"]);
    }

    #[test]
    fn impact_agrees_with_levels_member_by_member() {
        let members: Vec<Vec<Tag>> = (0..500)
            .map(|i| {
                let mut t = vec![];
                if i % 2 == 0 {
                    t.push(Tag::id("91"));
                }
                if i % 3 == 0 {
                    t.push(Tag::name("VIP"));
                }
                if i % 5 == 0 {
                    t.push(Tag::id("93"));
                }
                t
            })
            .collect();
        let index = AccessIndex::new(members.iter().map(|m| m.as_slice()));
        let before = [rule("gold", &["91"], &[], &[])];
        let after = [
            rule("gold", &["91", "vip"], &[], &["93"]),
            rule("vip", &[], &["VIP", "91"], &[]),
        ];
        let impact = index.impact(&before, &after);
        for li in &impact {
            let count = |rules: &[Rule]| {
                members
                    .iter()
                    .filter(|t| levels(rules, t).contains(&li.level))
                    .count() as u32
            };
            let gain = members
                .iter()
                .filter(|t| {
                    !levels(&before, t).contains(&li.level) && levels(&after, t).contains(&li.level)
                })
                .count() as u32;
            assert_eq!(li.before, count(&before), "{}", li.level);
            assert_eq!(li.after, count(&after), "{}", li.level);
            assert_eq!(li.gain, gain, "{}", li.level);
            assert_eq!(li.before + li.gain - li.lose, li.after);
        }
        assert_eq!(impact.len(), 2);
    }
}
