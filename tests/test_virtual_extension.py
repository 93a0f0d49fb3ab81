"""Chips on demand: a part the board does not know, added as a new part's emulation adds itself.

The "dosimeter" chip here is made up for the test: a counter at a free address
whose device name and faults are declared with ``register_device_faults``,
and which ``VirtualBoard.provide_i2c_chip`` attaches from its import string
or its factory.
"""

from __future__ import annotations

import errno

import pytest

from enviro_sensor.hardware.board import Board
from enviro_sensor.hardware.real import RealBoard
from enviro_sensor.hardware.virtual import VirtualBoard, load_emulation
from enviro_sensor.hardware.virtual.chips.registers import RegisterChip
from enviro_sensor.hardware.virtual.clock import ManualClock
from enviro_sensor.hardware.virtual.faults import (
    DEVICE_FAULTS,
    Faults,
    FaultSpecError,
    known_device_faults,
    parse_fault_spec,
    register_device_faults,
    unregister_device_faults,
)
from tests.virtual_support import MORNING

DOSIMETER_ADDRESS = 0x60
DOSIMETER_ID = 0xC5
DOSIMETER_FAULTS = {"absent", "ioerror", "intermittent"}
REG_ID, REG_COUNT = 0x00, 0x01
EMULATION = f"{__name__}:emulate"


class DosimeterChip(RegisterChip):
    """A made-up counter: an id in register 0, counts per minute in 1 and 2 (big-endian)."""

    name = "dosimeter"

    def __init__(self, board: VirtualBoard, address: int) -> None:
        super().__init__(address, board.faults)
        self.counts_per_minute = 23

    def read_register(self, register: int) -> int:
        if register == REG_ID:
            return DOSIMETER_ID
        if register == REG_COUNT:
            return self.counts_per_minute >> 8
        if register == REG_COUNT + 1:
            return self.counts_per_minute & 0xFF
        return 0


def emulate(board: VirtualBoard, address: int) -> DosimeterChip:
    """The factory ``provide_i2c_chip`` is given, by name or as itself."""
    return DosimeterChip(board, address)


@pytest.fixture
def dosimeter():
    """The dosimeter device declared for one test, and forgotten after it."""
    register_device_faults("dosimeter", DOSIMETER_FAULTS)
    yield
    unregister_device_faults("dosimeter")


@pytest.fixture
def board():
    return VirtualBoard(seed=3, clock=ManualClock(MORNING))


# -- declaring a device's faults ------------------------------------------------------


def test_a_declared_device_takes_its_faults_like_a_built_in_one(dosimeter):
    assert parse_fault_spec("dosimeter=absent, bme280=stuck") == {"dosimeter": "absent", "bme280": "stuck"}
    faults = Faults()
    faults.set("dosimeter", "intermittent")
    assert faults.configured("dosimeter") == "intermittent"
    with pytest.raises(FaultSpecError) as caught:
        faults.set("dosimeter", "wrong-id")
    assert (
        str(caught.value)
        == "dosimeter cannot have fault 'wrong-id' (it can have: absent, intermittent, ioerror)"
    )
    with pytest.raises(FaultSpecError) as caught:
        parse_fault_spec("foo=absent")
    assert str(caught.value) == (
        "unknown device 'foo' (known: ads1015, aht10, bme280, bme680, bmp280, dosimeter, ltr559, microphone, pms5003, scd40, scd41, sgp40, st7735)"
    )
    assert known_device_faults()["dosimeter"] == frozenset(DOSIMETER_FAULTS)
    assert "dosimeter" not in DEVICE_FAULTS  # the board's own table stays as it is


def test_an_undeclared_device_is_refused():
    with pytest.raises(FaultSpecError, match="unknown device 'dosimeter'"):
        parse_fault_spec("dosimeter=absent")
    with pytest.raises(FaultSpecError):
        Faults().set("dosimeter", "absent")


def test_forgetting_a_device_refuses_it_again(dosimeter):
    unregister_device_faults("dosimeter")
    with pytest.raises(FaultSpecError, match="unknown device 'dosimeter'"):
        parse_fault_spec("dosimeter=absent")


def test_declaring_the_same_faults_again_is_harmless(dosimeter):
    register_device_faults("dosimeter", sorted(DOSIMETER_FAULTS))
    assert known_device_faults()["dosimeter"] == frozenset(DOSIMETER_FAULTS)


@pytest.mark.parametrize(
    ("device", "faults", "problem"),
    [
        ("dosimeter", {"absent"}, "declared already"),
        ("bme280", {"absent"}, "board's own"),
        ("Dosimeter", {"absent"}, "lower-case word"),
        ("gei=ger", {"absent"}, "lower-case word"),
        ("", {"absent"}, "lower-case word"),
        ("counter", set(), "faults are lower-case words"),
        ("counter", {"Absent"}, "faults are lower-case words"),
        ("counter", {"stuck,absent"}, "faults are lower-case words"),
    ],
)
def test_declarations_that_would_confuse_the_setting_are_refused(dosimeter, device, faults, problem):
    with pytest.raises(ValueError, match=problem):
        register_device_faults(device, faults)
    assert known_device_faults()["dosimeter"] == frozenset(DOSIMETER_FAULTS)


# -- providing a chip -----------------------------------------------------------------


@pytest.mark.parametrize("emulation", [EMULATION, emulate], ids=["by-name", "factory"])
def test_a_provided_chip_answers_on_the_bus(board, dosimeter, emulation):
    bus = board.i2c_bus()
    with pytest.raises(OSError):
        bus.read_byte_data(DOSIMETER_ADDRESS, REG_ID)
    board.provide_i2c_chip(emulation, DOSIMETER_ADDRESS)
    assert bus.read_byte_data(DOSIMETER_ADDRESS, REG_ID) == DOSIMETER_ID
    assert bus.read_i2c_block_data(DOSIMETER_ADDRESS, REG_COUNT, 2) == [0, 23]
    assert bus.addresses == [0x23, 0x38, 0x49, DOSIMETER_ADDRESS, 0x76, 0x77]


def test_providing_twice_keeps_the_first_chip(board, dosimeter):
    board.provide_i2c_chip(EMULATION, DOSIMETER_ADDRESS)
    first = board.bus.chip(DOSIMETER_ADDRESS)
    board.provide_i2c_chip(emulate, DOSIMETER_ADDRESS)
    assert board.bus.chip(DOSIMETER_ADDRESS) is first


def test_the_boards_own_chips_stay(board):
    # The BME280 answers at 0x76: nothing is made, so nothing is imported.
    board.provide_i2c_chip("enviro_sensor.hardware.virtual.chips.bmp280:emulate", 0x76)
    board.provide_i2c_chip("no_such_package.no_such_module:emulate", 0x76)
    assert board.bus.chip(0x76) is board.bme280
    assert board.i2c_bus().read_byte_data(0x76, 0xD0) == 0x60


def test_the_emulation_is_imported_only_when_a_chip_is_made(board):
    with pytest.raises(ModuleNotFoundError):
        board.provide_i2c_chip("no_such_package.no_such_module:emulate", DOSIMETER_ADDRESS)
    assert DOSIMETER_ADDRESS not in board.bus.addresses


def test_faults_set_for_a_provided_chip_reach_the_bus(board, dosimeter):
    board.provide_i2c_chip(EMULATION, DOSIMETER_ADDRESS)
    bus = board.i2c_bus()
    for fault, code in (("absent", errno.EREMOTEIO), ("ioerror", errno.EIO)):
        board.faults.set("dosimeter", fault)
        with pytest.raises(OSError) as caught:
            bus.read_byte_data(DOSIMETER_ADDRESS, REG_ID)
        assert caught.value.errno == code
    board.faults.clear("dosimeter")
    assert bus.read_byte_data(DOSIMETER_ADDRESS, REG_ID) == DOSIMETER_ID


def test_a_board_given_a_declared_devices_faults_applies_them(dosimeter):
    board = VirtualBoard(faults="dosimeter=absent", clock=ManualClock(MORNING))
    board.provide_i2c_chip(EMULATION, DOSIMETER_ADDRESS)
    with pytest.raises(OSError) as caught:
        board.i2c_bus().read_byte_data(DOSIMETER_ADDRESS, REG_ID)
    assert caught.value.errno == errno.EREMOTEIO


def test_only_bus_one_exists(board):
    with pytest.raises(FileNotFoundError) as caught:
        board.provide_i2c_chip(EMULATION, DOSIMETER_ADDRESS, bus=0)
    assert caught.value.errno == errno.ENOENT
    assert caught.value.filename == "/dev/i2c-0"


@pytest.mark.parametrize("address", [0x00, 0x07, 0x78, 0x7F, 0x80, -1])
def test_reserved_addresses_are_refused(board, address):
    with pytest.raises(ValueError, match="reserved"):
        board.provide_i2c_chip(emulate, address)


def test_a_chip_made_at_another_address_is_refused(board):
    with pytest.raises(ValueError, match="made a chip at 0x61, not 0x60"):
        board.provide_i2c_chip(lambda board, address: DosimeterChip(board, address + 1), DOSIMETER_ADDRESS)
    assert board.bus.addresses == [0x23, 0x38, 0x49, 0x76, 0x77]


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("tests.test_virtual_extension", ValueError),
        ("tests.test_virtual_extension:", ValueError),
        (":emulate", ValueError),
        ("tests.test_virtual_extension:no_such_factory", AttributeError),
        ("tests.test_virtual_extension:DOSIMETER_ID", TypeError),
    ],
)
def test_a_bad_emulation_name_says_what_is_wrong(name, error):
    with pytest.raises(error, match=name.partition(":")[2] or "package.module:name"):
        load_emulation(name)


def test_a_dotted_name_reaches_a_classmethod_or_attribute():
    assert (
        load_emulation("tests.test_virtual_extension:DosimeterChip.read_register")
        is DosimeterChip.read_register
    )
    assert load_emulation(emulate) is emulate


def test_a_real_board_has_its_chips_already():
    board = RealBoard()
    assert isinstance(board, Board)
    # Nothing is imported, made or opened: the part is wired or it is not.
    assert board.provide_i2c_chip("no_such_package.no_such_module:emulate", 0x38) is None
    assert board._buses == {}
