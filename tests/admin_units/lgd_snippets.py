"""Small LGD CSV snippets with the real files' headers and traps, written by the tests themselves."""

from __future__ import annotations

from pathlib import Path

STATE_HEADER = "S.No.,State Code,State Version,State Name,State Name,Census 2001 Code,Census 2011 Code,State or UT"
DISTRICT_HEADER = '"State Code","State Name","District Code","District Name","Census 2001 Code","Census 2011 Code"'
SUBDISTRICT_HEADER = ("S.No.,State Code,State Name,District Code,District Name,Sub-district Code,Sub-district Version,"
                      "Sub-district Name,Census 2001 code,Census 2011 code")
BLOCK_HEADER = ("S.No.,State Code,State Name,District Code,District Name,Block Code,Block Version,Block Name ,"
                "Block Name")
ULB_HEADER = ('S.No.,"Local Body Code","Local Body Version",Local Body Name,"Local Body Name (In Local)",'
              '"Localbody Type Code",Census 2011 Code,State Code,State Name')
TLB_HEADER = ("Local Body Code,Local Body Version,Local Body Name (IN English),Local Body Name (In Local),"
              "Local Body Type Code,Local Body Type Name,Intermediate/Block Panchayat Code,District Panchayat Code,"
              "State Code,State Name (In English)")
TYPES_HEADER = "Local Body Type,Local Body Code,Description,Notes"
VILLAGE_HEADER = ("S.No.,State Code,State Name (In English),District Code,District Name (In English),"
                  "Sub-District Code,Sub-District Name (In English),Village Code,Village Version,"
                  "Village Name (In English),Village Name (In Local),Census 2001 Code,Census 2011 Code")
GP_HEADER = ("State Code,District Code,Block Code,Gram Panchayat Code,Gram Panchayat Version,"
             "Gram Panchayat Name (In English),Gram Panchayat Name (In Local)")

STATES = [STATE_HEADER,
          "1,28,2,ANDHRA PRADESH,ఆంధ్ర ప్రదేశ్,28,28,S",
          "2,37,1,LADAKH,LADAKH,,00,U"]
DISTRICTS = [DISTRICT_HEADER,
             '28,"ANDHRA PRADESH",745,"ALPHA",,0',
             '28,"ANDHRA PRADESH",746,BETA,2,502',
             '37,"LADAKH",747,"GAMMA",,0']
SUBDISTRICTS = [SUBDISTRICT_HEADER,
                "1,28,ANDHRA PRADESH,745,ALPHA,5001,3,Alpha Mandal,0,05001",
                "2,28,ANDHRA PRADESH,746,BETA,5002,1,Beta Mandal,,00000"]
BLOCKS = [BLOCK_HEADER,
          "1,28,ANDHRA PRADESH,745,ALPHA,4001,1,ALPHA BLOCK,ఆల్ఫా",
          "2,28,ANDHRA PRADESH,746,BETA,4002,5,BETA BLOCK,"]
ULBS = [ULB_HEADER,
        "1,253098,6,Alpha Town,,5,804041,28,ANDHRA PRADESH",
        "2,257868,1,Beta Town,బీటా,7,000000,28,ANDHRA PRADESH"]
TLBS = [TLB_HEADER,
        '"259500","1",1Ayouk,1Ayouk,"11",Village Council,"259698","0","37",LADAKH',
        '"260940","1",Hill Council,,"20",Constitutional Body,"0","0","28",ANDHRA PRADESH']
TYPES = [TYPES_HEADER, "Urban,4,Municipal Corporation,", "Urban,5,Municipality,", "Urban,7,Town Panchayat,"]


def write(folder: Path, name: str, lines: list[str], *, final_newline: bool = True) -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + ("\n" if final_newline else ""), encoding="utf-8")
    return path


def write_directory(folder: Path, overrides: dict[str, list[str]] | None = None) -> Path:
    """A directory with one file of each kind, under names that do not tell their kind (kinds come from headers)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"a_blocks_or_not.csv": BLOCKS, "b.csv": STATES, "c.csv": TLBS, "d.csv": DISTRICTS, "e.csv": ULBS,
             "f.csv": SUBDISTRICTS, "g.csv": TYPES}
    files.update(overrides or {})
    for name, lines in files.items():
        write(folder, name, lines, final_newline=name != "a_blocks_or_not.csv")
    return folder
