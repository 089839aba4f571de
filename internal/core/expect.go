package core

// Expectations: an attach (npshm_attach_expect, AttachOptions) or a load may name the shape and
// dtype it expects, and the array found must have them.

// MatchGeometry checks an array of ndim dimensions of sizes shape and canonical descriptor descr
// against expectations: the shape wantShape if expectShape, and the canonical descriptor wantDescr
// if it is not nil. A difference is ErrMismatch.
func MatchGeometry(ndim int, shape []int64, descr []byte, expectShape bool, wantShape []int64, wantDescr []byte) Status {
	if expectShape {
		if len(wantShape) != ndim {
			return failNum(ErrMismatch, MsgArrayHasDifferentNumberDimensions, int64(ndim))
		}
		for i, d := range wantShape {
			if d != shape[i] {
				return failNum(ErrMismatch, MsgArrayHasDifferentSizeDimension, int64(i))
			}
		}
	}
	if wantDescr != nil && string(wantDescr) != string(descr) {
		return fail(ErrMismatch, MsgArrayHasDifferentDtype)
	}
	return Status{}
}

// CheckExpected checks the attached header h against an expected shape (if expectShape) and dtype
// (any spelling NormalizeDtype takes; nil for any), normalizing the dtype into descrScratch
// (capacity MaxDescr), which must not hold h.Descr.
func CheckExpected(h *Header, expectShape bool, shape []int64, dtype []byte, descrScratch []byte) Status {
	var want []byte
	if dtype != nil {
		d, _, st := NormalizeDtype(dtype, descrScratch)
		if !st.Ok() {
			return st
		}
		want = d
	}
	return MatchGeometry(h.Ndim, h.Shape[:h.Ndim], h.Descr, expectShape, shape, want)
}
