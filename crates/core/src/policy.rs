//! The one access policy: may this actor do this action on this object?
//!
//! Handlers never look at roles themselves. They describe the object (its
//! authority and the authority's ancestors, its unit, its group-year) and ask
//! [`decide`]. Roles are scoped: an authority role covers the objects of that
//! authority and of the authorities below it; a unit role covers its own unit,
//! and reading what its authority registers and the groups its unit belongs to.
//! "Head officer of a group for a year" is never a flag on a user: it follows
//! from the user's unit being head or deputy of that group in that year.

use serde::{Deserialize, Serialize};

macro_rules! roles {
    ($($variant:ident = $code:literal => $label:literal),+ $(,)?) => {
        /// The roles a user can be granted.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Role { $($variant),+ }
        impl Role {
            pub const ALL: &'static [Role] = &[$(Role::$variant),+];
            pub fn code(self) -> &'static str { match self { $(Role::$variant => $code),+ } }
            pub fn label(self) -> &'static str { match self { $(Role::$variant => $label),+ } }
            pub fn parse(s: &str) -> Option<Role> {
                // the code first: what the database holds, read on every request
                if let Some(r) = Role::ALL.iter().copied().find(|r| r.code() == s.trim()) {
                    return Some(r);
                }
                let f = crate::text::fold(s);
                Role::ALL.iter().copied().find(|r| crate::text::fold(r.label()) == f)
            }
        }
    };
}

roles!(
    Admin = "admin" => "Quản trị hệ thống",
    Secretariat = "secretariat" => "Cơ quan thường trực (Ban TĐKT)",
    Council = "council" => "Thành viên Hội đồng TĐKT",
    Viewer = "viewer" => "Người xem",
    UnitLeader = "unit_leader" => "Lãnh đạo đơn vị",
    UnitOfficer = "unit_officer" => "Cán bộ thi đua của đơn vị",
);

impl Role {
    /// Whether the role is held over an authority (else over a unit, or the system).
    pub fn is_authority_role(self) -> bool {
        matches!(self, Role::Secretariat | Role::Council | Role::Viewer)
    }
    pub fn is_unit_role(self) -> bool {
        matches!(self, Role::UnitLeader | Role::UnitOfficer)
    }
}

/// One role held by a user, with its scope. For a unit role, `authority_id`
/// is the authority the unit belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub role: Role,
    pub authority_id: Option<i64>,
    pub unit_id: Option<i64>,
}

/// Who is acting, with every grant they hold.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: i64,
    pub grants: Vec<Grant>,
}

/// What a group-year looks like to the policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupCtx {
    pub head_unit: Option<i64>,
    pub deputy_unit: Option<i64>,
    /// Units that are members of the group in any year (a unit may read the
    /// history of a group it belongs or belonged to).
    pub member_units: Vec<i64>,
    /// The cross-inspection pairs of the year, (inspector, inspected): the
    /// inspector reads the inspected unit's sheet. Empty where not needed.
    pub inspections: Vec<(i64, i64)>,
}

/// The object of an action, as far as the policy needs to know it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    /// The object's authority first, then its ancestors up to the root.
    /// Empty for system-wide objects (years, users, the authority list).
    pub authority_path: Vec<i64>,
    pub unit_id: Option<i64>,
    pub group: Option<GroupCtx>,
}

impl Target {
    pub fn system() -> Self {
        Target::default()
    }
    pub fn authority(path: Vec<i64>) -> Self {
        Target { authority_path: path, ..Default::default() }
    }
    pub fn unit(path: Vec<i64>, unit_id: i64) -> Self {
        Target { authority_path: path, unit_id: Some(unit_id), group: None }
    }
    pub fn group(path: Vec<i64>, group: GroupCtx) -> Self {
        Target { authority_path: path, unit_id: None, group: Some(group) }
    }
}

/// Everything an actor may ask to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// See the list of authorities and years (not secret).
    ViewDirectory,
    /// Create or edit an authority.
    ManageAuthority,
    /// Open an emulation year.
    ManageYears,
    ViewUnit,
    /// Create, edit, close a unit; record lineage; import units.
    ManageUnit,
    ViewGroup,
    /// Create, edit, close a group; set memberships; import memberships.
    ManageGroup,
    /// Work that the head (or deputy) unit of a group-year does for the group.
    LeadGroupYear,
    /// Set the default dates and the windows of the year's calendar for all the authority's groups.
    ManageCalendar,
    /// Manage user accounts and their roles.
    ManageUsers,
    /// Browse the audit log.
    ViewAudit,
    /// Upload a group's documents and their new versions (what the head and deputy units and the secretariat do).
    ManageDocuments,
    /// Write and publish the authority's scoring-table templates.
    ManageTemplates,
    /// Sign the covenant for a unit (its leader).
    SignCovenant,
    /// Record the penalty of a unit that did not sign the covenant.
    PenalizeUnsigned,
    /// Read a unit's score sheet (the unit itself, its inspector, the head and deputy units, the authority's readers).
    ViewSheet,
    /// See every member's sheet side by side: the head-review table and the results before publication.
    ReviewGroupYear,
    /// Appraise a group-year's scores, reopen a sheet or final results, finalise and publish (the secretariat).
    Appraise,
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::ViewDirectory,
        Action::ManageAuthority,
        Action::ManageYears,
        Action::ViewUnit,
        Action::ManageUnit,
        Action::ViewGroup,
        Action::ManageGroup,
        Action::LeadGroupYear,
        Action::ManageCalendar,
        Action::ManageUsers,
        Action::ViewAudit,
        Action::ManageDocuments,
        Action::ManageTemplates,
        Action::SignCovenant,
        Action::PenalizeUnsigned,
        Action::ViewSheet,
        Action::ReviewGroupYear,
        Action::Appraise,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Action::ViewDirectory => "view_directory",
            Action::ManageAuthority => "manage_authority",
            Action::ManageYears => "manage_years",
            Action::ViewUnit => "view_unit",
            Action::ManageUnit => "manage_unit",
            Action::ViewGroup => "view_group",
            Action::ManageGroup => "manage_group",
            Action::LeadGroupYear => "lead_group_year",
            Action::ManageCalendar => "manage_calendar",
            Action::ManageUsers => "manage_users",
            Action::ViewAudit => "view_audit",
            Action::ManageDocuments => "manage_documents",
            Action::ManageTemplates => "manage_templates",
            Action::SignCovenant => "sign_covenant",
            Action::PenalizeUnsigned => "penalize_unsigned",
            Action::ViewSheet => "view_sheet",
            Action::ReviewGroupYear => "review_group_year",
            Action::Appraise => "appraise",
        }
    }

    /// What the user was refused, in Vietnamese.
    pub fn label(self) -> &'static str {
        match self {
            Action::ViewDirectory => "xem danh mục",
            Action::ManageAuthority => "quản lý cơ quan tổ chức cụm, khối",
            Action::ManageYears => "mở năm thi đua",
            Action::ViewUnit => "xem đơn vị này",
            Action::ManageUnit => "quản lý đơn vị này",
            Action::ViewGroup => "xem cụm, khối này",
            Action::ManageGroup => "quản lý cụm, khối này",
            Action::LeadGroupYear => "điều hành cụm, khối trong năm này",
            Action::ManageCalendar => "đặt lịch chung cho các cụm, khối của cơ quan này",
            Action::ManageUsers => "quản lý tài khoản",
            Action::ViewAudit => "xem nhật ký hệ thống",
            Action::ManageDocuments => "tải lên tài liệu của cụm, khối này",
            Action::ManageTemplates => "soạn, ban hành bảng điểm mẫu của cơ quan này",
            Action::SignCovenant => "ký giao ước thi đua thay cho đơn vị này",
            Action::PenalizeUnsigned => "trừ điểm đơn vị không ký giao ước",
            Action::ViewSheet => "xem phiếu chấm điểm của đơn vị này",
            Action::ReviewGroupYear => "xem bảng tổng hợp điểm của các thành viên cụm, khối",
            Action::Appraise => "thẩm định, chốt và công bố kết quả chấm điểm",
        }
    }
}

/// A refusal, with the message shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Bạn không có quyền {}.", action.label())]
pub struct Denied {
    pub action: Action,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.grants.iter().any(|g| g.role == Role::Admin)
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    /// The units this actor works for.
    pub fn unit_ids(&self) -> Vec<i64> {
        self.grants.iter().filter(|g| g.role.is_unit_role()).filter_map(|g| g.unit_id).collect()
    }

    /// The authorities this actor holds an authority role over (with the role).
    pub fn authority_grants(&self) -> impl Iterator<Item = (Role, i64)> + '_ {
        self.grants.iter().filter(|g| g.role.is_authority_role()).filter_map(|g| g.authority_id.map(|a| (g.role, a)))
    }

    /// Whether a grant of one of `roles` covers an object with this authority path.
    /// An authority role covers its authority and those below it; a unit role
    /// covers only its own unit's authority (not the authorities below it).
    fn covers(&self, roles: &[Role], path: &[i64]) -> bool {
        self.grants.iter().any(|g| {
            roles.contains(&g.role)
                && g.authority_id
                    .is_some_and(|a| if g.role.is_unit_role() { path.first() == Some(&a) } else { path.contains(&a) })
        })
    }

    fn unit_role_on(&self, unit: i64) -> bool {
        self.grants.iter().any(|g| g.role.is_unit_role() && g.unit_id == Some(unit))
    }
}

/// The policy. Returns `Ok(())` when the actor may act, else the refusal.
pub fn decide(actor: &Actor, action: Action, target: &Target) -> Result<(), Denied> {
    if allowed(actor, action, target) { Ok(()) } else { Err(Denied { action }) }
}

fn allowed(actor: &Actor, action: Action, t: &Target) -> bool {
    // an administrator may do anything but sign for a unit: only its leader signs
    if actor.is_admin() && action != Action::SignCovenant {
        return true;
    }
    let path = &t.authority_path[..];
    let readers = [Role::Secretariat, Role::Council, Role::Viewer];
    match action {
        Action::ViewDirectory => !actor.grants.is_empty(),
        Action::ManageAuthority | Action::ManageUsers => false,
        Action::ManageYears => actor.has_role(Role::Secretariat),
        Action::ViewUnit => {
            actor.covers(&readers, path)
                || t.unit_id.is_some_and(|u| actor.unit_role_on(u))
                // a unit's officers read the registry of their own authority
                || actor.covers(&[Role::UnitLeader, Role::UnitOfficer], path)
        }
        Action::ManageUnit | Action::ManageGroup => actor.covers(&[Role::Secretariat], path),
        Action::ManageCalendar => actor.covers(&[Role::Secretariat], path),
        Action::ViewGroup => {
            actor.covers(&readers, path)
                || actor.covers(&[Role::UnitLeader, Role::UnitOfficer], path)
                || t.group.as_ref().is_some_and(|g| g.member_units.iter().any(|u| actor.unit_role_on(*u)))
        }
        Action::LeadGroupYear => {
            actor.covers(&[Role::Secretariat], path)
                || t.group
                    .as_ref()
                    .is_some_and(|g| [g.head_unit, g.deputy_unit].into_iter().flatten().any(|u| actor.unit_role_on(u)))
        }
        Action::ManageDocuments => allowed(actor, Action::LeadGroupYear, t),
        Action::ManageTemplates | Action::PenalizeUnsigned => actor.covers(&[Role::Secretariat], path),
        // only the unit's leader signs for it, and only as a member of the group
        Action::SignCovenant => {
            t.unit_id.is_some_and(|u| actor.grants.iter().any(|g| g.role == Role::UnitLeader && g.unit_id == Some(u)))
                && t.group.as_ref().is_some_and(|g| t.unit_id.is_some_and(|u| g.member_units.contains(&u)))
        }
        // a member unit reads its own sheet, never another member's
        Action::ViewSheet => {
            actor.covers(&readers, path)
                || t.unit_id.is_some_and(|u| actor.unit_role_on(u))
                || allowed(actor, Action::LeadGroupYear, t)
                || t.group
                    .as_ref()
                    .is_some_and(|g| g.inspections.iter().any(|(i, u)| Some(*u) == t.unit_id && actor.unit_role_on(*i)))
        }
        Action::ReviewGroupYear => actor.covers(&readers, path) || allowed(actor, Action::LeadGroupYear, t),
        Action::Appraise => actor.covers(&[Role::Secretariat], path),
        Action::ViewAudit => {
            actor.covers(&[Role::Secretariat], path) || (path.is_empty() && actor.has_role(Role::Secretariat))
        }
    }
}

/// The authorities whose registry (units, groups) the actor may read:
/// each granted authority and those below it. `None` means all (administrator).
/// `all` lists every authority as (id, parent).
pub fn readable_authorities(actor: &Actor, all: &[(i64, Option<i64>)]) -> Option<Vec<i64>> {
    if actor.is_admin() {
        return None;
    }
    let roots: Vec<i64> =
        actor.grants.iter().filter(|g| !g.role.is_unit_role()).filter_map(|g| g.authority_id).collect();
    let mut ids = below(&roots, all);
    for g in actor.grants.iter().filter(|g| g.role.is_unit_role()) {
        if let Some(a) = g.authority_id
            && !ids.contains(&a)
        {
            ids.push(a);
        }
    }
    Some(ids)
}

/// The authorities where the actor may manage units and groups.
pub fn managed_authorities(actor: &Actor, all: &[(i64, Option<i64>)]) -> Option<Vec<i64>> {
    if actor.is_admin() {
        return None;
    }
    let roots: Vec<i64> =
        actor.grants.iter().filter(|g| g.role == Role::Secretariat).filter_map(|g| g.authority_id).collect();
    Some(below(&roots, all))
}

/// The path of an authority to the root, nearest first (cycle-safe).
pub fn authority_path(id: i64, all: &[(i64, Option<i64>)]) -> Vec<i64> {
    let mut path = Vec::new();
    let mut cur = Some(id);
    while let Some(c) = cur {
        if path.contains(&c) {
            break;
        }
        path.push(c);
        cur = all.iter().find(|a| a.0 == c).and_then(|a| a.1);
    }
    path
}

fn below(roots: &[i64], all: &[(i64, Option<i64>)]) -> Vec<i64> {
    all.iter().map(|a| a.0).filter(|&id| authority_path(id, all).iter().any(|p| roots.contains(p))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TW: i64 = 1;
    const CB: i64 = 2;
    const HN: i64 = 3;

    fn actor(grants: Vec<Grant>) -> Actor {
        Actor { user_id: 7, grants }
    }
    fn auth(role: Role, a: i64) -> Grant {
        Grant { role, authority_id: Some(a), unit_id: None }
    }
    fn unit(role: Role, a: i64, u: i64) -> Grant {
        Grant { role, authority_id: Some(a), unit_id: Some(u) }
    }

    #[test]
    fn secretariat_scope_is_its_authority_and_below() {
        let s = actor(vec![auth(Role::Secretariat, CB)]);
        assert!(decide(&s, Action::ManageUnit, &Target::unit(vec![CB, TW], 10)).is_ok());
        assert!(decide(&s, Action::ManageUnit, &Target::unit(vec![HN, TW], 11)).is_err());
        assert!(decide(&s, Action::ManageUnit, &Target::unit(vec![TW], 12)).is_err());
        let central = actor(vec![auth(Role::Secretariat, TW)]);
        assert!(decide(&central, Action::ManageUnit, &Target::unit(vec![CB, TW], 10)).is_ok());
    }

    #[test]
    fn readers_cannot_manage() {
        for role in [Role::Council, Role::Viewer] {
            let a = actor(vec![auth(role, CB)]);
            assert!(decide(&a, Action::ViewUnit, &Target::unit(vec![CB, TW], 10)).is_ok());
            assert!(decide(&a, Action::ManageUnit, &Target::unit(vec![CB, TW], 10)).is_err());
            assert!(decide(&a, Action::ViewUnit, &Target::unit(vec![HN, TW], 10)).is_err());
        }
    }

    #[test]
    fn unit_officer_reads_own_authority_only() {
        let o = actor(vec![unit(Role::UnitOfficer, CB, 10)]);
        assert!(decide(&o, Action::ViewUnit, &Target::unit(vec![CB, TW], 10)).is_ok());
        assert!(decide(&o, Action::ViewUnit, &Target::unit(vec![CB, TW], 11)).is_ok());
        assert!(decide(&o, Action::ViewUnit, &Target::unit(vec![HN, TW], 20)).is_err());
        assert!(decide(&o, Action::ManageUnit, &Target::unit(vec![CB, TW], 10)).is_err());
        assert!(decide(&o, Action::ManageUsers, &Target::system()).is_err());
        assert!(decide(&o, Action::ViewAudit, &Target::system()).is_err());
    }

    #[test]
    fn member_units_read_their_groups_of_other_authorities() {
        // Tỉnh Cao Bằng (unit 30 of the central authority) in a central cluster.
        let o = actor(vec![unit(Role::UnitLeader, TW, 30)]);
        let g = GroupCtx {
            head_unit: Some(31),
            deputy_unit: Some(30),
            member_units: vec![30, 31, 32],
            inspections: vec![],
        };
        assert!(decide(&o, Action::ViewGroup, &Target::group(vec![TW], g.clone())).is_ok());
        let other =
            GroupCtx { head_unit: Some(40), deputy_unit: None, member_units: vec![40, 41], inspections: vec![] };
        let o2 = actor(vec![unit(Role::UnitLeader, CB, 50)]);
        assert!(decide(&o2, Action::ViewGroup, &Target::group(vec![TW], other)).is_err());
    }

    #[test]
    fn head_officer_follows_from_the_group_year() {
        let g = GroupCtx {
            head_unit: Some(10),
            deputy_unit: Some(11),
            member_units: vec![10, 11, 12],
            inspections: vec![],
        };
        let t = Target::group(vec![CB, TW], g);
        assert!(decide(&actor(vec![unit(Role::UnitOfficer, CB, 10)]), Action::LeadGroupYear, &t).is_ok());
        assert!(decide(&actor(vec![unit(Role::UnitLeader, CB, 11)]), Action::LeadGroupYear, &t).is_ok());
        assert!(decide(&actor(vec![unit(Role::UnitOfficer, CB, 12)]), Action::LeadGroupYear, &t).is_err());
    }

    #[test]
    fn the_inspector_reads_the_inspected_sheet_and_only_leads_and_readers_review() {
        let g = GroupCtx {
            head_unit: Some(10),
            deputy_unit: None,
            member_units: vec![10, 11, 12],
            inspections: vec![(12, 11), (11, 10), (10, 12)],
        };
        let t = |u: Option<i64>| Target { authority_path: vec![CB, TW], unit_id: u, group: Some(g.clone()) };
        let inspector = actor(vec![unit(Role::UnitOfficer, CB, 12)]);
        assert!(decide(&inspector, Action::ViewSheet, &t(Some(11))).is_ok(), "12 inspects 11");
        assert!(decide(&inspector, Action::ViewSheet, &t(Some(10))).is_err(), "12 does not inspect 10");
        assert!(decide(&inspector, Action::ReviewGroupYear, &t(None)).is_err(), "a member does not see the table");
        assert!(decide(&actor(vec![unit(Role::UnitOfficer, CB, 10)]), Action::ReviewGroupYear, &t(None)).is_ok());
        for role in [Role::Secretariat, Role::Council, Role::Viewer] {
            assert!(decide(&actor(vec![auth(role, CB)]), Action::ReviewGroupYear, &t(None)).is_ok());
        }
        assert!(decide(&actor(vec![auth(Role::Secretariat, CB)]), Action::Appraise, &t(None)).is_ok());
        assert!(decide(&actor(vec![auth(Role::Council, CB)]), Action::Appraise, &t(None)).is_err());
        assert!(
            decide(&actor(vec![unit(Role::UnitLeader, CB, 10)]), Action::Appraise, &t(None)).is_err(),
            "not the head"
        );
        assert!(decide(&actor(vec![auth(Role::Secretariat, HN)]), Action::Appraise, &t(None)).is_err());
    }

    #[test]
    fn only_a_members_leader_signs_its_covenant() {
        let g = GroupCtx { head_unit: Some(10), deputy_unit: None, member_units: vec![10, 11], inspections: vec![] };
        let t = |u: i64| Target { authority_path: vec![CB, TW], unit_id: Some(u), group: Some(g.clone()) };
        let leader = actor(vec![unit(Role::UnitLeader, CB, 11)]);
        assert!(decide(&leader, Action::SignCovenant, &t(11)).is_ok());
        assert!(decide(&leader, Action::SignCovenant, &t(10)).is_err(), "not for another unit");
        let officer = actor(vec![unit(Role::UnitOfficer, CB, 11)]);
        assert!(decide(&officer, Action::SignCovenant, &t(11)).is_err(), "the officer does not sign");
        let outsider = actor(vec![unit(Role::UnitLeader, CB, 12)]);
        assert!(decide(&outsider, Action::SignCovenant, &t(12)).is_err(), "not a member of the group");
        let admin = actor(vec![Grant { role: Role::Admin, authority_id: None, unit_id: None }]);
        assert!(decide(&admin, Action::SignCovenant, &t(11)).is_err(), "an administrator does not sign for a unit");
        let sec = actor(vec![auth(Role::Secretariat, CB)]);
        assert!(decide(&sec, Action::PenalizeUnsigned, &t(11)).is_ok());
        assert!(decide(&leader, Action::PenalizeUnsigned, &t(11)).is_err());
    }

    #[test]
    fn members_read_only_their_own_sheet() {
        let g = GroupCtx {
            head_unit: Some(10),
            deputy_unit: Some(11),
            member_units: vec![10, 11, 12, 13],
            inspections: vec![],
        };
        let t = |u: i64| Target { authority_path: vec![CB, TW], unit_id: Some(u), group: Some(g.clone()) };
        let member = actor(vec![unit(Role::UnitOfficer, CB, 12)]);
        assert!(decide(&member, Action::ViewSheet, &t(12)).is_ok());
        assert!(decide(&member, Action::ViewSheet, &t(13)).is_err(), "not another member's sheet");
        assert!(decide(&actor(vec![unit(Role::UnitLeader, CB, 10)]), Action::ViewSheet, &t(13)).is_ok(), "head");
        assert!(decide(&actor(vec![unit(Role::UnitOfficer, CB, 11)]), Action::ViewSheet, &t(13)).is_ok(), "deputy");
        for role in [Role::Secretariat, Role::Council, Role::Viewer] {
            assert!(decide(&actor(vec![auth(role, CB)]), Action::ViewSheet, &t(13)).is_ok());
            assert!(decide(&actor(vec![auth(role, HN)]), Action::ViewSheet, &t(13)).is_err());
        }
    }

    #[test]
    fn no_grants_no_access() {
        let nobody = actor(vec![]);
        for action in [Action::ViewDirectory, Action::ViewUnit, Action::ViewGroup, Action::ViewAudit] {
            assert!(decide(&nobody, action, &Target::unit(vec![CB, TW], 1)).is_err());
        }
    }

    #[test]
    fn denial_message_is_vietnamese() {
        let d = Denied { action: Action::ManageUnit };
        assert_eq!(d.to_string(), "Bạn không có quyền quản lý đơn vị này.");
    }

    #[test]
    fn readable_lists_agree_with_decide() {
        let all = vec![(TW, None), (CB, Some(TW)), (HN, Some(TW))];
        let o = actor(vec![unit(Role::UnitOfficer, CB, 10)]);
        assert_eq!(readable_authorities(&o, &all), Some(vec![CB]));
        let s = actor(vec![auth(Role::Secretariat, TW)]);
        assert_eq!(managed_authorities(&s, &all), Some(vec![TW, CB, HN]));
        assert_eq!(managed_authorities(&o, &all), Some(vec![]));
        assert_eq!(
            readable_authorities(&actor(vec![Grant { role: Role::Admin, authority_id: None, unit_id: None }]), &all),
            None
        );
        // a unit registered directly under the central authority reads the central
        // registry, not the provinces below it
        let central_unit = actor(vec![unit(Role::UnitLeader, TW, 30)]);
        assert_eq!(readable_authorities(&central_unit, &all), Some(vec![TW]));
        for a in [&o, &s, &central_unit] {
            for id in [TW, CB, HN] {
                let path = authority_path(id, &all);
                let listed = readable_authorities(a, &all).unwrap().contains(&id);
                prop_assert_eq_bool(listed, decide(a, Action::ViewUnit, &Target::unit(path, 999)).is_ok());
            }
        }
    }

    fn prop_assert_eq_bool(a: bool, b: bool) {
        assert_eq!(a, b);
    }

    fn any_role() -> impl Strategy<Value = Role> {
        proptest::sample::select(Role::ALL.to_vec())
    }

    proptest! {
        /// Nobody but an administrator or a secretariat ever manages anything,
        /// and nobody outside a target's authority path manages it.
        #[test]
        fn managing_needs_secretariat_in_path(role in any_role(), a in 1i64..6, path in proptest::collection::vec(1i64..6, 0..3)) {
            let g = if role.is_unit_role() { unit(role, a, 100) } else { auth(role, a) };
            let act = actor(vec![g]);
            let t = Target::unit(path.clone(), 200);
            let ok = decide(&act, Action::ManageUnit, &t).is_ok();
            let expected = role == Role::Admin || (role == Role::Secretariat && path.contains(&a));
            prop_assert_eq!(ok, expected);
        }
    }
}
