"""Users and tokens of the test Hub (a module of its own: test files import it, never a conftest)."""

TOKEN_ALICE = "hf_test_alice_0123456789"
TOKEN_BOB = "hf_test_bob_0123456789"
TOKEN_READER = "hf_test_bob_readonly_0123"  # bob's read-only token
#: token -> user name
TOKENS = {TOKEN_ALICE: "alice", TOKEN_BOB: "bob", TOKEN_READER: "bob"}
