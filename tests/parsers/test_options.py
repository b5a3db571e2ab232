"""Which options a person chose, however they marked them."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers.document import Line
from parsers.lexicon import EMPTY, Lexicon
from parsers.options import choose, match_option
from parsers.schema import YESNO_OPTIONS, OptionSpec, load_schemas

YESNO = [OptionSpec(k, label) for k, label in YESNO_OPTIONS]
GENDER = [
    OptionSpec("male", "Male"),
    OptionSpec("female", "Female"),
    OptionSpec("other", "Other"),
    OptionSpec("not_known", "Not known", ("Unknown",)),
]
STATUS = [
    OptionSpec("child_in_need", "Child in need"),
    OptionSpec("cp_plan_current", "Child protection plan (current)"),
    OptionSpec("cp_plan_previous", "Child protection plan (previous)"),
    OptionSpec("looked_after", "Looked after child"),
    OptionSpec("care_leaver", "Care leaver"),
    OptionSpec("early_help", "Early help"),
    OptionSpec("not_known_to_csc", "Not known to children's social care"),
]


def lines(*texts, bold=()):
    return [Line(t, emphasis=i in bold) for i, t in enumerate(texts)]


def test_it_reads_ticked_boxes():
    assert choose(lines("☐ Male", "☒ Female", "☐ Other", "☐ Not known"), GENDER) == ["female"]


def test_it_reads_several_boxes_on_one_line():
    assert choose(lines("☐ Yes   ☒ No"), YESNO) == ["no"]


def test_it_reads_a_box_written_after_the_option():
    assert choose(lines("Yes ☒   No ☐"), YESNO) == ["yes"]


@pytest.mark.parametrize("typed", ["X Female", "x Female", "[X] Female", "(x) Female", "✓ Female"])
def test_it_reads_a_typed_mark_before_an_option(typed):
    assert choose(lines("Male", typed, "Other", "Not known"), GENDER) == ["female"]


@pytest.mark.parametrize(
    "typed", ["Female X", "Female - X", "Female – yes", "Female ✓", "Female: Yes"]
)
def test_it_reads_a_typed_mark_after_an_option(typed):
    assert choose(lines("Male", typed, "Other", "Not known"), GENDER) == ["female"]


def test_it_takes_the_option_left_when_the_others_were_deleted():
    assert choose(lines("Female"), GENDER) == ["female"]
    assert choose(lines("☐ Yes"), YESNO) == ["yes"]


def test_it_takes_the_one_option_in_bold_when_no_box_is_ticked():
    chosen = choose(lines("☐ Male", "☐ Female", "☐ Other", "☐ Not known", bold={1}), GENDER)
    assert chosen == ["female"]


def test_it_reads_nothing_chosen_when_every_box_is_empty():
    assert choose(lines(*(f"☐ {o.label}" for o in STATUS)), STATUS) == []


def test_it_does_not_take_a_long_list_of_empty_boxes_as_a_choice():
    assert choose(lines(*(f"☐ {o.label}" for o in STATUS[:5])), STATUS) == []


def test_it_reads_several_ticks_for_tick_all_that_apply():
    chosen = choose(
        lines("☒ Child in need", "☒ Child protection plan (current)", "☐ Care leaver"), STATUS
    )
    assert chosen == ["child_in_need", "cp_plan_current"]


def test_it_reads_free_text_yes_answers():
    assert choose(lines("Yes - discussed with the DSL on Monday"), YESNO) == ["yes"]


def test_it_returns_none_when_no_option_is_named():
    assert choose(lines("see attached letter"), GENDER) is None


def test_it_reads_option_keys_from_form_fields():
    assert choose(lines("☐ male", "☒ not_known"), GENDER) == ["not_known"]


@given(st.lists(st.booleans(), min_size=len(STATUS), max_size=len(STATUS)))
def test_it_reads_exactly_the_ticked_boxes_in_any_combination(ticks):
    answer = lines(*(("☒ " if t else "☐ ") + o.label for t, o in zip(ticks, STATUS, strict=True)))
    expected = [o.key for t, o in zip(ticks, STATUS, strict=True) if t]
    assert choose(answer, STATUS) == expected


def test_it_reads_an_x_typed_in_place_of_a_deleted_box():
    assert choose(lines("☐ Yes X No"), YESNO) == ["no"]


def test_it_reads_an_x_typed_after_an_option_with_its_box_left():
    assert choose(lines("☐ Yes X   ☐ No"), YESNO) == ["yes"]


def test_it_reads_yes_typed_beside_an_option_on_a_yes_no_line():
    assert choose(lines("☐ Yes   ☐ No – yes"), YESNO) == ["no"]


@pytest.mark.parametrize(
    "answer",
    [("☐ Yes   ☐ No", "No"), ("☐ Yes   ☐ No", "NO"), ("☐ Yes   ☐ No   no",), ("☐ Yes ☐ No", "no.")],
)
def test_it_reads_no_typed_beside_or_under_empty_yes_no_boxes(answer):
    assert choose(lines(*answer), YESNO) == ["no"]


@pytest.mark.parametrize("answer", [("☐ Yes   ☐ No", "YES"), ("☐ Yes", "☐ No", "Yes")])
def test_it_reads_yes_typed_under_empty_boxes_in_any_case(answer):
    assert choose(lines(*answer), YESNO) == ["yes"]


def test_it_reads_nothing_when_the_typed_answer_names_two_options():
    assert choose(lines("☐ Yes   ☐ No", "Yes", "No"), YESNO) == []


def test_it_still_trusts_a_ticked_box_over_typed_words():
    assert choose(lines("☒ Yes   ☐ No", "No"), YESNO) == ["yes"]


def test_it_reads_nothing_for_sure_when_the_ticked_box_is_none_of_the_options():
    # Another form's option, ticked, beside one of ours left empty: the empty one is
    # not the choice (it is not "the option left when the others were deleted").
    answer = lines("☐ Child in need", "☒ Subject of a section 47 enquiry")
    assert choose(answer, STATUS) is None


REASONS = [
    OptionSpec("death", "Death of a child where abuse or neglect is known or suspected"),
    OptionSpec("harm", "Serious harm to a child where abuse or neglect is known or suspected"),
    OptionSpec("sexual", "The child has been seriously harmed as a result of sexual abuse"),
    OptionSpec("assault", "The child has been seriously harmed following a violent assault"),
]


def test_it_reads_another_forms_label_that_stops_before_our_options_qualifier():
    ticked = lines("☐ Death of a child", "☒ Serious harm to a child", "☐ Conduct of staff")
    assert choose(ticked, REASONS) == ["harm"]


def test_it_does_not_read_a_shorter_label_that_two_of_our_options_begin_with():
    assert choose(lines("☒ The child has been seriously harmed"), REASONS) is None


def test_shorter_labels_left_unticked_are_no_choice():
    """Two of our five reasons printed in another form's shorter words, neither
    ticked: that is not "the options left standing"."""
    assert not choose(lines("☐ Death of a child", "☐ Serious harm to a child"), REASONS)


OTHER_FORMS_LIST = (
    "☐ Serious case review confirmed",
    "☐ Death of a looked-after child",
    "☐ Serious harm to a child",
    "☐ Conduct of a member of staff",
)


def test_another_forms_label_marked_out_in_bold_is_the_choice():
    """No box ticked, the choice in bold: a shorter label of ours counts as it
    would ticked."""
    assert choose(lines(*OTHER_FORMS_LIST, bold=(2,)), REASONS) == ["harm"]


def test_a_choice_in_bold_that_is_none_of_ours_is_not_read():
    """The referrer marked out another form's option: nothing of ours was chosen,
    and the empty boxes like ours are not a choice either."""
    assert choose(lines(*OTHER_FORMS_LIST, bold=(0,)), REASONS) is None


def test_one_of_ours_among_another_forms_empty_boxes_is_not_left_standing():
    """Another form's list with one label like ours and nothing marked is no
    sign that the others were deleted: not read (a person looks), never a choice."""
    other = (
        OptionSpec("death_looked_after", "Death of a looked after child"),
        OptionSpec("care_leaver", "Death of a care leaver under 25"),
        OptionSpec("harm", "Serious harm where abuse or neglect is known or suspected"),
    )
    assert choose(lines(*OTHER_FORMS_LIST), other) is None


def test_a_bold_printed_list_marks_nothing_out():
    every = lines("☐ Male", "☐ Female", "☐ Other", "☐ Not known", bold=(0, 1, 2, 3))
    assert choose(every, GENDER) == []


def test_options_printed_in_bold_above_a_plain_note_are_no_choice():
    """The readers mark emphasis against the cell's other lines: a bold-printed
    option list with a plain note under it marks nothing out."""
    cell = lines("☐ Male", "☐ Female", "☐ Other", "☐ Not known", "see notes", bold=(0, 1, 2, 3))
    assert choose(cell, GENDER) == []


def test_a_bold_sub_heading_in_the_cell_does_not_hide_a_ticked_box():
    cell = lines("Tick one", "☐ Yes", "☒ No", bold=(0,))
    assert choose(cell, YESNO) == ["no"]


def test_ours_among_another_forms_empty_boxes_with_the_answer_typed_under_them():
    assert choose(lines("☐ Yes ☐ No ☐ N/A", "No"), YESNO) == ["no"]


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("Known to children's social care", None),  # had been read as its opposite
        ("Previously known to children's social care", None),
        ("Not known to childrens social care", "not_known_to_csc"),
        ("Child in need", "child_in_need"),
    ],
)
def test_an_option_is_never_named_by_words_saying_the_opposite(written, key):
    from parsers.options import match_option

    options = [
        OptionSpec("child_in_need", "Child in need"),
        OptionSpec("not_known_to_csc", "Not known to children's social care"),
    ]
    found = match_option(written, options)
    assert (found.key if found else None) == key


DIED = "The child has died (including suicide) and abuse or neglect is known or suspected"
HARMED = "The child has been seriously harmed following a violent assault by another child"
WORDS = Lexicon.build(synonyms=[["died", "death", "deceased"]])


def criteria(lexicon=EMPTY):
    return [OptionSpec("child_died", DIED, (), lexicon), OptionSpec("assault", HARMED, (), lexicon)]


def test_another_forms_option_in_other_words_of_the_lexicon_is_read():
    ticked = lines("☒ a) Death of the child including death by suicide", "☐ b) Assault")
    assert choose(ticked, criteria(WORDS)) == ["child_died"]
    # The lexicon is what reads it: without it, the words are too far from ours.
    assert choose(ticked, criteria()) is None


def test_the_lexicon_does_not_make_an_option_of_a_different_event():
    ticked = lines("☒ d) The child has been killed by a parent with a mental illness")
    assert choose(ticked, criteria(WORDS)) is None


def test_forms_loaded_from_a_folder_read_their_options_with_its_lexicon():
    folder = Path(__file__).resolve().parents[2] / "config" / "forms"
    for schema in load_schemas(folder).values():
        assert schema.lexicon is not EMPTY
        for spec in schema.fields:
            assert all(o.lexicon is schema.lexicon for o in spec.options), spec.key


OURS = load_schemas(Path(__file__).resolve().parents[2] / "config" / "forms")["cspr_referral"]


@pytest.mark.parametrize(
    ("written", "field"),
    [
        # Every word of these stands in one of our options, in the lexicon's words
        # ("young person" is "child", "serious injury" is "seriously harmed"), but
        # they say less than the option, or more: none is that option.
        ("Serious harm to a young person", "criteria_met"),
        ("Significant harm to a child", "criteria_met"),
        ("Serious injury to an infant", "criteria_met"),
        ("The child has been seriously injured by a dog", "criteria_met"),
        ("Child protection plan ended within the last 12 months", "child_status"),
        ("Child protection plan closed in 2024", "child_status"),
        ("Child protection plan discontinued", "child_status"),
        ("Child protection plan for a sibling", "child_status"),
        ("Sibling on a child protection plan", "child_status"),
    ],
)
def test_the_lexicon_never_makes_a_narrower_or_different_statement_one_of_ours(written, field):
    options = OURS.field(field).options
    assert match_option(written, options) is None
    assert match_option(written, options, cuts=True) is None


@pytest.mark.parametrize(
    "written",
    ["a) Death of the Child including death by suicide", "Child died - abuse or neglect suspected"],
)
def test_our_criterion_in_the_lexicons_other_words_is_read(written):
    assert match_option(written, OURS.field("criteria_met").options).key == "child_died"


def test_options_worded_enough_to_name_a_question_keep_their_own_lexicon():
    """Options are equal whatever lexicon they carry: a cache of them must not hand
    one caller's options, with its lexicon, to another."""
    from parsers.forms.answers import distinct_options

    worded, plain = tuple(criteria(WORDS)), tuple(criteria())
    assert worded == plain
    assert all(o.lexicon is WORDS for o in distinct_options(worded))
    assert all(o.lexicon is EMPTY for o in distinct_options(plain))
