package npshm_test

import (
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"strconv"

	"github.com/npshm/npshm"
)

// One process creates an array; another attaches to it by name and sees the same memory.
func Example() {
	name := "npshm-example-" + strconv.Itoa(os.Getpid())
	a, err := npshm.Create(name, []int{2, 3}, "float64", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer npshm.Delete(name)
	defer a.Close()
	values, _ := npshm.View[float64](a)
	values[4] = 42

	// Typically in another process:
	b, err := npshm.Attach(name, &npshm.AttachOptions{ReadOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	seen, _ := npshm.View[float64](b)
	fmt.Println(b.Shape(), b.Dtype(), seen)
	// Output: [2 3] <f8 [0 0 0 0 42 0]
}

// Creating a name that exists fails with an error that matches ErrExists and fs.ErrExist.
func ExampleCreate_exists() {
	name := "npshm-example-exists-" + strconv.Itoa(os.Getpid())
	a, err := npshm.Create(name, []int{3}, "uint8", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer npshm.Delete(name)
	defer a.Close()
	_, err = npshm.Create(name, []int{3}, "uint8", nil)
	fmt.Println(errors.Is(err, npshm.ErrExists), errors.Is(err, fs.ErrExist))
	// Output: true true
}

// Replace swaps in a new array under the name; mappings of the old one stay valid.
func ExampleCreate_replace() {
	name := "npshm-example-replace-" + strconv.Itoa(os.Getpid())
	old, err := npshm.Create(name, []int{2}, "int32", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer npshm.Delete(name)
	defer old.Close()
	fresh, err := npshm.Create(name, []int{4}, "datetime64[ns]", &npshm.CreateOptions{Replace: true})
	if err != nil {
		log.Fatal(err)
	}
	defer fresh.Close()
	fmt.Println(old.Shape(), old.Dtype(), fresh.Shape(), fresh.Dtype())
	// Output: [2] <i4 [4] <M8[ns]
}

func ExampleList() {
	name := "npshm-example-list-" + strconv.Itoa(os.Getpid())
	a, err := npshm.Create(name, []int{10, 3}, "<i8", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer npshm.Delete(name)
	defer a.Close()
	infos, err := npshm.List()
	if err != nil {
		log.Fatal(err)
	}
	for _, info := range infos {
		if info.Name == name {
			fmt.Println(info.Shape, info.Dtype, info.Nbytes, info.Mode)
		}
	}
	// Output: [10 3] <i8 240 -rw-------
}

// A new array filled before any other process can see it, and an attach that checks what it finds.
func ExampleFill() {
	name := "npshm-example-fill-" + strconv.Itoa(os.Getpid())
	a, err := npshm.Create(name, []int{2, 2}, "int32", &npshm.CreateOptions{Init: npshm.Fill(int32(-1))})
	if err != nil {
		log.Fatal(err)
	}
	defer npshm.Delete(name)
	defer a.Close()

	_, err = npshm.Attach(name, &npshm.AttachOptions{Shape: []int{2, 2}, Dtype: "float32"})
	fmt.Println(errors.Is(err, npshm.ErrMismatch))
	b, err := npshm.Attach(name, &npshm.AttachOptions{Shape: []int{2, 2}, Dtype: "<i4", ReadOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	values, _ := npshm.View[int32](b)
	fmt.Println(b.Shape(), b.Dtype(), b.ReadOnly(), values)
	// Output:
	// true
	// [2 2] <i4 true [-1 -1 -1 -1]
}
