//! The field schema of each record kind: names, types, review flags and labels.
//!
//! A field marked `review` is an identity, residence or status field: when two devices change
//! it concurrently the merge keeps one value deterministically and also opens a review item
//! for an admin. Other fields simply merge.

use super::Kind;

/// Relationship of a household member to the head (the household's `members` entries and the
/// citizen's `relationship_to_head`).
///
/// `head` chủ hộ, `spouse` vợ/chồng, `child` con, `child_in_law` con dâu/con rể,
/// `parent` cha/mẹ, `grandparent` ông/bà, `grandchild` cháu, `sibling` anh/chị/em,
/// `lodger` ở nhờ/ở thuê/ở mượn, `other` khác (with a free-text `relationship_note`).
pub const RELATIONSHIPS: &[&str] = &[
    "head",
    "spouse",
    "child",
    "child_in_law",
    "parent",
    "grandparent",
    "grandchild",
    "sibling",
    "lodger",
    "other",
];

const SEXES: &[&str] = &["male", "female"];
const BLOOD_TYPES: &[&str] = &["A", "B", "AB", "O", "unknown"];
const MARITAL_STATUSES: &[&str] = &["single", "married", "divorced", "widowed", "unknown"];
/// A citizen's electronic identification (VNeID) account level (Identification Law Art. 31 ⚠):
/// `none`, level 1 (identity only), level 2 (identity with photo and fingerprints).
pub const VNEID_LEVELS: &[&str] = &["none", "level_1", "level_2"];
const CITIZEN_STATUSES: &[&str] = &["active", "deceased", "withdrawn", "merged_into"];
const HOUSEHOLD_STATUSES: &[&str] = &["active", "withdrawn", "merged_into"];
/// `cmnd_confirmation`: confirming an old 9-digit CMND number for a card holder (seed plan
/// App. 2 #1, procedure 1.000466).
const REQUEST_TYPES: &[&str] = &["first_issue", "replacement", "reissue", "cmnd_confirmation"];
/// Grounds of an exchange (Identification Law Art. 24(1) a–g) and a reissue (Art. 24(2)).
pub const CARD_GROUNDS: &[&str] = &[
    "exchange_age",
    "exchange_name_or_birth_date_changed",
    "exchange_identity_features_or_sex_changed",
    "exchange_printing_error",
    "exchange_unit_reorganisation",
    "exchange_id_number_reestablished",
    "exchange_on_request",
    "reissue_lost_or_damaged",
    "reissue_nationality_regained",
];
const APPLICATION_STATUSES: &[&str] = &[
    "draft",
    "collected",
    "submitted",
    "accepted",
    "card_issued",
    "returned",
    "rejected",
    "withdrawn",
];
const PROCEDURES: &[&str] = &[
    "permanent_registration",
    "temporary_registration",
    "extension",
    "temporary_absence",
    "stay_notice",
    "removal",
    "permanent_removal",
    "temporary_removal",
    "household_separation",
    "adjustment",
    "residence_information",
];
/// Grounds of a removal or temporary absence: Residence Law Art. 24(1) a–i (permanent
/// removal), Art. 29 (temporary removal, ⚠ list), Art. 31(1) a–d (temporary absence), and
/// `unknown` (records from before grounds were recorded).
pub const RESIDENCE_GROUNDS: &[&str] = &[
    "perm_a_dead_or_missing",
    "perm_b_emigrated",
    "perm_c_cancelled",
    "perm_d_absent_12_months",
    "perm_e_lost_nationality",
    "perm_f_rental_or_hosting_ended",
    "perm_g_owner_changed",
    "perm_h_owner_consent_withdrawn",
    "perm_i_home_demolished_or_vessel_deregistered",
    "temp_dead_or_missing",
    "temp_absent_6_months",
    "temp_registered_permanently_there",
    "temp_rental_or_hosting_ended",
    "temp_other",
    "absence_a_accused_or_on_bail",
    "absence_b_probation_or_similar",
    "absence_c_military_age_3_months",
    "absence_d_12_months",
    "unknown",
];
/// Sub-types of an adjustment of residence information (Residence Law Art. 26 ⚠).
pub const ADJUSTMENT_TYPES: &[&str] = &["change_of_head", "civil_status", "address_renamed"];
const DECLARATION_STATUSES: &[&str] = &["draft", "submitted", "accepted", "rejected", "withdrawn"];
/// The legal basis of the home a registration is for (Residence Law Art. 20): owned, rented,
/// borrowed, hosted (ở nhờ), with a relative (Art. 20(2)), or a vessel (Art. 20 ⚠).
pub const RESIDENCE_BASES: &[&str] = &[
    "owned", "rented", "borrowed", "hosted", "relative", "vessel",
];

/// The type of a field's value, which decides how it is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Free text (NFC).
    Text,
    /// A person's name: text in NFC; search uses [`search_key`](super::search_key).
    Name,
    /// A calendar date, `YYYY-MM-DD` text.
    Date,
    /// A date that may be known only to its year or month: `YYYY-MM-DD`, `YYYY-MM` or `YYYY`
    /// text (see [`PartialDate`](super::PartialDate)). Used for dates of birth from old papers.
    PartialDate,
    /// A local (Vietnam) date and time to the minute, `YYYY-MM-DDTHH:MM` text: a guest's
    /// arrival, when the stay notice was given.
    LocalDateTime,
    /// A non-negative decimal quantity: a whole number, or text with up to two decimals and
    /// a `.` (`"7.5"`), so a floor area of 7.5 m² can be entered.
    Decimal,
    /// One of a fixed list of text values.
    Enum(&'static [&'static str]),
    /// A 12-digit personal identification number, as text.
    IdNumber,
    /// An old identity-card (CMND) number: 9 or 12 digits, as text.
    OldIdNumber,
    /// A reference to another record: its UUID as lowercase hyphenated text.
    Uuid,
    /// An admin-unit code from any period (old codes are kept as captured).
    Unit,
    /// A whole number.
    Int,
    /// A yes/no flag.
    Bool,
    /// A phone number: digits, `+` and spaces.
    Phone,
    /// An email address (must contain `@`).
    Email,
    /// Household members: a map keyed by citizen UUID, each entry a map with a
    /// `relationship` (one of [`RELATIONSHIPS`]) and an optional `relationship_note` (text).
    Members,
    /// Earlier ID numbers of a person (a number replaced after a sex redetermination or a
    /// re-established number, Identification Law Art. 24(1)(c),(e)): a map keyed by the
    /// earlier number (12 digits, or an old CMND number), each entry a map with an optional
    /// `replaced_on` (date) and `reason` (text).
    PreviousIdNumbers,
    /// Attachments (photos, scanned papers): a map keyed by the blob's SHA-256 (64 hex
    /// digits), each entry a map of its metadata (`crate::attachment::Meta`).
    Attachments,
}

/// One field of a record kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The snake_case field name used on the wire and in storage.
    pub name: &'static str,
    /// The value type.
    pub ty: FieldType,
    /// An identity, residence or status field: concurrent edits open a review item.
    pub review: bool,
    /// Vietnamese label for forms and the web console.
    pub label_vi: &'static str,
    /// English label.
    pub label_en: &'static str,
    /// Most characters (Unicode scalar values) a text value of this field may hold; every
    /// value a change writes is held to it (`docs/protocol.md` §5.1).
    pub max_chars: usize,
}

impl FieldType {
    /// The longest text value a field of this type may hold, in characters. Names and short
    /// codes are small; free text (addresses, reasons) is a paragraph; `notes` has its own
    /// larger limit ([`NOTES_MAX_CHARS`]).
    pub const fn max_chars(self) -> usize {
        match self {
            FieldType::Text => TEXT_MAX_CHARS,
            FieldType::Name => NAME_MAX_CHARS,
            FieldType::Date | FieldType::PartialDate => 10,
            FieldType::LocalDateTime => 16,
            FieldType::Decimal => 16,
            FieldType::Enum(_) => 32,
            FieldType::IdNumber | FieldType::OldIdNumber => 12,
            FieldType::Uuid => 36,
            FieldType::Unit => 16,
            FieldType::Phone => 32,
            FieldType::Email => 254,
            // Not text: a text value written to these is refused by type anyway.
            FieldType::Int
            | FieldType::Bool
            | FieldType::Members
            | FieldType::PreviousIdNumbers
            | FieldType::Attachments => 0,
        }
    }
}

/// Most characters of a person's name (and of any other [`FieldType::Name`] field).
pub const NAME_MAX_CHARS: usize = 200;
/// Most characters of a free-text field other than `notes` (addresses, reasons, places).
pub const TEXT_MAX_CHARS: usize = 1_000;
/// Most characters of a record's `notes`.
pub const NOTES_MAX_CHARS: usize = 4_000;
/// Most characters of a household member entry's `relationship_note`.
pub const RELATIONSHIP_NOTE_MAX_CHARS: usize = 200;

const fn f(
    name: &'static str,
    ty: FieldType,
    review: bool,
    label_vi: &'static str,
    label_en: &'static str,
) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        review,
        label_vi,
        label_en,
        max_chars: ty.max_chars(),
    }
}

use FieldType as T;

const R: bool = true;
const N: bool = false;

/// The attachment set every kind has (`crate::attachment`).
const ATTACHMENTS: FieldSpec = f(
    "attachments",
    FieldType::Attachments,
    false,
    "Tệp đính kèm",
    "Attachments",
);

const NOTES: FieldSpec = FieldSpec {
    max_chars: NOTES_MAX_CHARS,
    ..f("notes", T::Text, N, "Ghi chú", "Notes")
};

#[rustfmt::skip]
static CITIZEN: &[FieldSpec] = &[
    f("full_name", T::Name, R, "Họ, chữ đệm và tên khai sinh", "Full name"),
    f("other_name", T::Name, N, "Tên gọi khác", "Other name"),
    f("id_number", T::IdNumber, R, "Số định danh cá nhân", "Personal ID number"),
    f("old_id_number", T::OldIdNumber, N, "Số CMND cũ", "Old ID card (CMND) number"),
    f("date_of_birth", T::PartialDate, R, "Ngày, tháng, năm sinh", "Date of birth"),
    f("sex", T::Enum(SEXES), R, "Giới tính", "Sex"),
    f("place_of_birth", T::Text, N, "Nơi sinh", "Place of birth"),
    f("birth_registration_place", T::Text, N, "Nơi đăng ký khai sinh", "Place of birth registration"),
    f("hometown", T::Text, N, "Quê quán", "Hometown"),
    f("ethnicity", T::Text, N, "Dân tộc", "Ethnicity"),
    f("religion", T::Text, N, "Tôn giáo", "Religion"),
    f("nationality", T::Text, N, "Quốc tịch", "Nationality"),
    f("blood_type", T::Enum(BLOOD_TYPES), N, "Nhóm máu", "Blood type"),
    f("previous_card_issued_on", T::Date, N, "Ngày cấp thẻ trước", "Previous card issued on"),
    f("previous_card_expires_on", T::Date, N, "Ngày hết hạn thẻ trước", "Previous card expires on"),
    f("father_name", T::Name, N, "Họ, chữ đệm và tên cha", "Father's name"),
    f("mother_name", T::Name, N, "Họ, chữ đệm và tên mẹ", "Mother's name"),
    f("spouse_name", T::Name, N, "Họ, chữ đệm và tên vợ/chồng", "Spouse's name"),
    f("representative_name", T::Name, N, "Họ, chữ đệm và tên người đại diện hợp pháp", "Legal representative's name"),
    f("father_id_number", T::IdNumber, N, "Số định danh cá nhân của cha", "Father's personal ID number"),
    f("mother_id_number", T::IdNumber, N, "Số định danh cá nhân của mẹ", "Mother's personal ID number"),
    f("spouse_id_number", T::IdNumber, N, "Số định danh cá nhân của vợ/chồng", "Spouse's personal ID number"),
    f("representative_id_number", T::IdNumber, N, "Số định danh cá nhân của người đại diện hợp pháp", "Legal representative's personal ID number"),
    f("permanent_address", T::Text, R, "Nơi thường trú", "Permanent residence"),
    f("permanent_unit", T::Unit, R, "Đơn vị hành chính nơi thường trú", "Permanent residence unit"),
    f("temporary_address", T::Text, R, "Nơi tạm trú", "Temporary residence"),
    f("temporary_unit", T::Unit, R, "Đơn vị hành chính nơi tạm trú", "Temporary residence unit"),
    f("current_address", T::Text, R, "Nơi ở hiện tại", "Current residence"),
    f("marital_status", T::Enum(MARITAL_STATUSES), N, "Tình trạng hôn nhân", "Marital status"),
    f("household_id", T::Uuid, R, "Hộ gia đình", "Household"),
    f("relationship_to_head", T::Enum(RELATIONSHIPS), R, "Quan hệ với chủ hộ", "Relationship to household head"),
    f("phone", T::Phone, N, "Số điện thoại", "Phone number"),
    f("email", T::Email, N, "Thư điện tử", "Email"),
    f("date_of_death", T::Date, R, "Ngày chết hoặc mất tích", "Date of death or disappearance"),
    f("merged_into", T::Uuid, R, "Đã gộp vào hồ sơ", "Merged into record"),
    f("status", T::Enum(CITIZEN_STATUSES), R, "Trạng thái", "Status"),
    NOTES,
    ATTACHMENTS,
    f("previous_id_numbers", T::PreviousIdNumbers, R, "Số định danh cá nhân trước đây", "Earlier ID numbers"),
    f("status_reason", T::Text, N, "Lý do thay đổi trạng thái", "Reason for the status change"),
    f("captured_on", T::Date, N, "Ngày thu thập thông tin", "Information captured on"),
    f("id_number_notified_on", T::Date, N, "Ngày thông báo số định danh cá nhân cho công dân", "Personal ID number notified to the citizen on"),
    f("vneid_level", T::Enum(VNEID_LEVELS), N, "Mức tài khoản định danh điện tử (VNeID)", "VNeID account level"),
    f("vneid_activated_on", T::Date, N, "Ngày kích hoạt tài khoản định danh điện tử", "VNeID account activated on"),
];

#[rustfmt::skip]
static HOUSEHOLD: &[FieldSpec] = &[
    f("address", T::Text, R, "Địa chỉ", "Address"),
    f("head_id", T::Uuid, R, "Chủ hộ", "Household head"),
    f("members", T::Members, R, "Thành viên hộ", "Members"),
    f("status", T::Enum(HOUSEHOLD_STATUSES), R, "Trạng thái", "Status"),
    NOTES,
    ATTACHMENTS,
];

#[rustfmt::skip]
static CCCD_APPLICATION: &[FieldSpec] = &[
    f("citizen_id", T::Uuid, R, "Công dân", "Citizen"),
    f("request_type", T::Enum(REQUEST_TYPES), R, "Loại yêu cầu (cấp, cấp đổi, cấp lại)", "Request type"),
    f("reason", T::Text, N, "Lý do", "Reason"),
    f("full_name", T::Name, R, "Họ, chữ đệm và tên khai sinh", "Full name"),
    f("id_number", T::IdNumber, R, "Số định danh cá nhân", "Personal ID number"),
    f("date_of_birth", T::PartialDate, R, "Ngày, tháng, năm sinh", "Date of birth"),
    f("sex", T::Enum(SEXES), R, "Giới tính", "Sex"),
    f("filed_on", T::Date, N, "Ngày tiếp nhận", "Filed on"),
    f("appointment_on", T::Date, N, "Ngày hẹn trả", "Appointment on"),
    f("fee_paid", T::Bool, N, "Đã nộp lệ phí", "Fee paid"),
    f("old_card_collected", T::Bool, N, "Đã thu thẻ cũ", "Old card collected"),
    f("status", T::Enum(APPLICATION_STATUSES), R, "Trạng thái", "Status"),
    NOTES,
    ATTACHMENTS,
    f("no_id_number_reason", T::Text, N, "Lý do chưa có số định danh cá nhân", "Why there is no ID number yet"),
    f("representative_name", T::Name, R, "Họ, chữ đệm và tên người đại diện hợp pháp", "Legal representative's name"),
    f("representative_id_number", T::IdNumber, R, "Số định danh cá nhân của người đại diện hợp pháp", "Legal representative's personal ID number"),
    f("fingerprints_taken", T::Bool, N, "Đã thu vân tay", "Fingerprints taken"),
    f("iris_taken", T::Bool, N, "Đã thu mống mắt", "Iris taken"),
    f("ground", T::Enum(CARD_GROUNDS), R, "Căn cứ cấp đổi, cấp lại", "Ground of exchange or reissue"),
    f("due_on", T::Date, N, "Ngày hẹn trả kết quả theo luật", "Due on"),
    f("decided_on", T::Date, N, "Ngày giải quyết", "Decided on"),
    f("refusal_reason", T::Text, N, "Lý do từ chối", "Refusal reason"),
    f("cmnd_number", T::OldIdNumber, R, "Số Chứng minh nhân dân cần xác nhận", "Old CMND number to confirm"),
];

#[rustfmt::skip]
static RESIDENCE_DECLARATION: &[FieldSpec] = &[
    f("citizen_id", T::Uuid, R, "Công dân", "Citizen"),
    f("procedure", T::Enum(PROCEDURES), R, "Thủ tục", "Procedure"),
    f("address", T::Text, R, "Địa chỉ", "Address"),
    f("address_unit", T::Unit, R, "Đơn vị hành chính", "Address unit"),
    f("from_date", T::Date, R, "Từ ngày", "From"),
    f("to_date", T::Date, R, "Đến ngày", "To"),
    f("reason", T::Text, N, "Lý do", "Reason"),
    f("host_name", T::Name, N, "Họ tên chủ hộ hoặc chủ nhà", "Host's name"),
    f("owner_consent", T::Bool, N, "Có ý kiến đồng ý của chủ sở hữu", "Owner's consent"),
    f("floor_area_m2", T::Decimal, N, "Diện tích sàn (m²)", "Floor area (m²)"),
    f("persons", T::Int, N, "Số người", "Number of persons"),
    f("status", T::Enum(DECLARATION_STATUSES), R, "Trạng thái", "Status"),
    NOTES,
    ATTACHMENTS,
    f("residence_basis", T::Enum(RESIDENCE_BASES), N, "Hình thức chỗ ở hợp pháp", "Legal basis of the home"),
    f("filed_on", T::Date, N, "Ngày tiếp nhận hồ sơ", "Filed on"),
    f("registration_id", T::Uuid, R, "Đăng ký được gia hạn hoặc xóa", "Registration acted on"),
    f("registration_expires_on", T::Date, N, "Ngày hết hạn tạm trú đang có", "Expiry of the registration extended"),
    f("ground", T::Enum(RESIDENCE_GROUNDS), R, "Căn cứ (lý do theo luật)", "Legal ground"),
    f("adjustment_type", T::Enum(ADJUSTMENT_TYPES), R, "Nội dung điều chỉnh", "Adjustment type"),
    f("vessel_registration_number", T::Text, R, "Số đăng ký phương tiện", "Vessel registration number"),
    f("due_on", T::Date, N, "Ngày hẹn trả kết quả", "Due on"),
    f("decided_on", T::Date, N, "Ngày giải quyết", "Decided on"),
    f("refusal_reason", T::Text, N, "Lý do từ chối", "Refusal reason"),
    f("head_consent", T::Bool, N, "Có ý kiến đồng ý của chủ hộ", "Household head's consent"),
    f("guardian_consent", T::Bool, N, "Có ý kiến đồng ý của cha, mẹ hoặc người giám hộ", "Parent or guardian's consent"),
    f("supervisor_consent", T::Bool, N, "Có văn bản đồng ý của cơ quan quản lý", "Supervising body's consent"),
    f("moving_members", T::Members, R, "Thành viên cùng chuyển đến", "Members moving together"),
    f("guest_name", T::Name, R, "Họ tên người lưu trú", "Guest's name"),
    f("guest_id_number", T::Text, R, "Số định danh hoặc hộ chiếu của người lưu trú", "Guest's ID or passport number"),
    f("arrival_time", T::LocalDateTime, N, "Thời điểm đến (giờ Việt Nam)", "Arrival time (Vietnam time)"),
    f("notified_time", T::LocalDateTime, N, "Thời điểm thông báo lưu trú (giờ Việt Nam)", "Stay notified at (Vietnam time)"),
];

/// Every field of a kind, in form order (`status` and `notes` last).
pub fn fields_of(kind: Kind) -> &'static [FieldSpec] {
    match kind {
        Kind::Citizen => CITIZEN,
        Kind::Household => HOUSEHOLD,
        Kind::CccdApplication => CCCD_APPLICATION,
        Kind::ResidenceDeclaration => RESIDENCE_DECLARATION,
    }
}

/// The spec of one field of a kind; `None` when the kind has no such field.
pub fn field_spec(kind: Kind, name: &str) -> Option<&'static FieldSpec> {
    fields_of(kind).iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_kind_has_a_reviewed_status_enum_and_free_text_notes() {
        for kind in Kind::ALL {
            let status = field_spec(kind, "status").expect("status");
            assert!(
                matches!(status.ty, FieldType::Enum(v) if !v.is_empty()),
                "{kind}"
            );
            assert!(status.review, "{kind}");
            let notes = field_spec(kind, "notes").expect("notes");
            assert_eq!(notes.ty, FieldType::Text);
            assert!(!notes.review);
        }
    }

    #[test]
    fn field_names_are_unique_snake_case_and_labelled_in_both_languages() {
        for kind in Kind::ALL {
            let mut seen = HashSet::new();
            for s in fields_of(kind) {
                assert!(seen.insert(s.name), "{kind}.{} twice", s.name);
                assert!(
                    s.name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                    "{kind}.{}",
                    s.name
                );
                assert!(
                    !s.label_vi.is_empty() && !s.label_en.is_empty(),
                    "{kind}.{}",
                    s.name
                );
                assert!(super::super::text::is_nfc(s.label_vi), "{kind}.{}", s.name);
            }
        }
    }

    #[test]
    fn root_keys_are_not_kind_fields() {
        for kind in Kind::ALL {
            for root in ["id", "kind", "schema", "unit"] {
                assert!(field_spec(kind, root).is_none(), "{kind}.{root}");
            }
        }
    }

    #[test]
    fn citizen_identity_and_residence_fields_open_review_items() {
        for name in [
            "full_name",
            "id_number",
            "date_of_birth",
            "sex",
            "permanent_address",
            "permanent_unit",
            "temporary_unit",
            "household_id",
            "relationship_to_head",
            "date_of_death",
            "merged_into",
        ] {
            assert!(
                field_spec(Kind::Citizen, name).expect(name).review,
                "{name}"
            );
        }
        for name in ["other_name", "phone", "email", "blood_type", "religion"] {
            assert!(
                !field_spec(Kind::Citizen, name).expect(name).review,
                "{name}"
            );
        }
    }

    #[test]
    fn citizen_has_the_population_database_fields_with_their_types() {
        let ty = |n| field_spec(Kind::Citizen, n).map(|s| s.ty);
        assert_eq!(ty("id_number"), Some(FieldType::IdNumber));
        assert_eq!(ty("old_id_number"), Some(FieldType::OldIdNumber));
        assert_eq!(ty("spouse_id_number"), Some(FieldType::IdNumber));
        assert_eq!(ty("permanent_unit"), Some(FieldType::Unit));
        assert_eq!(
            ty("relationship_to_head"),
            Some(FieldType::Enum(RELATIONSHIPS))
        );
        assert_eq!(ty("phone"), Some(FieldType::Phone));
        assert_eq!(fields_of(Kind::Citizen).len(), 44);
        assert_eq!(ty("captured_on"), Some(FieldType::Date));
        assert_eq!(ty("id_number_notified_on"), Some(FieldType::Date));
        assert_eq!(ty("vneid_level"), Some(FieldType::Enum(VNEID_LEVELS)));
        assert_eq!(ty("vneid_activated_on"), Some(FieldType::Date));
    }

    #[test]
    fn household_members_are_a_keyed_set_not_a_list() {
        assert_eq!(
            field_spec(Kind::Household, "members").map(|s| s.ty),
            Some(FieldType::Members)
        );
        assert!(field_spec(Kind::Household, "household_unit").is_none());
    }

    #[test]
    fn application_and_declaration_statuses_cover_their_workflows() {
        let values = |k, n| match field_spec(k, n).map(|s| s.ty) {
            Some(FieldType::Enum(v)) => v,
            other => panic!("{k}.{n} is {other:?}"),
        };
        assert!(values(Kind::CccdApplication, "status").contains(&"card_issued"));
        assert!(values(Kind::ResidenceDeclaration, "procedure").contains(&"stay_notice"));
        assert_eq!(values(Kind::CccdApplication, "request_type"), REQUEST_TYPES);
        assert!(values(Kind::Citizen, "status").contains(&"merged_into"));
    }

    #[test]
    fn unknown_fields_have_no_spec() {
        assert!(field_spec(Kind::CccdApplication, "religion").is_none());
        assert!(field_spec(Kind::Citizen, "Full_Name").is_none());
    }
}
